/**
 * Node evidence for `kubelab doctor`: the files and command outputs the node checks read,
 * collected over one connection in a single round of concurrent commands (one script reads
 * every file; containerd, the resolver, the interfaces and the clock are asked beside it).
 * Files are keyed by absolute path (null: no such file); commands by the keys below.
 */
import { etcdctlArgv } from "../phases/etcd.js";
import { SYSCTLS } from "../phases/gather-facts.js";
import type { Remote } from "../remote/types.js";
import { KUBEADM_INIT_PATH } from "../render/kubeadm.js";
import { num, objects, str, strings } from "./object.js";
import type { CommandEvidence, NodeEvidence } from "./types.js";

/** The files collected from every node, by what the checks call them. */
export const NODE_FILES = {
  hosts: "/etc/hosts",
  resolvConf: "/etc/resolv.conf",
  /** systemd-resolved's upstream servers: kubeadm points kubelet (and so pods) here when resolved runs. */
  resolvedResolvConf: "/run/systemd/resolve/resolv.conf",
  nsswitch: "/etc/nsswitch.conf",
  swaps: "/proc/swaps",
  /** Loadable modules; absent on kernels without module support (everything built in). */
  modules: "/proc/modules",
  filesystems: "/proc/filesystems",
  /** Exists while ip_vs is in the kernel (loaded or built in). */
  ipVs: "/proc/net/ip_vs",
  /** Exists while nf_conntrack is in the kernel (in the node's network namespace). */
  conntrackMax: "/proc/sys/net/netfilter/nf_conntrack_max",
  kernelRelease: "/proc/sys/kernel/osrelease",
  hostname: "/proc/sys/kernel/hostname",
  /** kubeadm writes kubelet's configuration here (init and join). */
  kubeletConfig: "/var/lib/kubelet/config.yaml",
  /** kubelab writes KUBELET_EXTRA_ARGS=--node-ip=... here (render/node-files.ts). */
  kubeletDefaults: "/etc/default/kubelet",
  /** kubeadm writes KUBELET_KUBEADM_ARGS (its kubeletExtraArgs, --node-ip among them) here. */
  kubeadmFlags: "/var/lib/kubelet/kubeadm-flags.env",
  /** kubelab's kubeadm init configuration (first control plane): kubelet's cgroupDriver before kubeadm ran. */
  kubeadmInit: KUBEADM_INIT_PATH,
  /** What kubelab writes so modules and sysctls survive a reboot (render/node-files.ts). */
  modulesLoad: "/etc/modules-load.d/kubelab.conf",
  sysctlConf: "/etc/sysctl.d/99-kubelab.conf",
} as const;

/** Where a sysctl's current value is read: `net.ipv4.ip_forward` -> /proc/sys/net/ipv4/ip_forward. */
export const sysctlPath = (key: string) => `/proc/sys/${key.replaceAll(".", "/")}`;

/** The kernel's list of built-in modules, for the running kernel (read as well). */
export const modulesBuiltinPath = (kernelRelease: string) => `/lib/modules/${kernelRelease.trim()}/modules.builtin`;

/** Command results collected from every node, keyed by the command (as a human would type it). */
export const NODE_COMMANDS = {
  /** The script that read the files (its stdout is parsed into `files`; kept with an empty stdout). */
  files: "read files",
  /** containerd's effective configuration: the file merged over the built-in defaults. */
  containerdConfig: "containerd config dump",
  /** What the node's own resolver (glibc, nsswitch) answers for localhost. */
  localhost: "getent ahosts localhost",
  addresses: "ip -j addr show",
  /** The node clock in milliseconds since the epoch. */
  clock: "date +%s%3N",
  /** Control planes only: etcd's members, asked of the node's etcd container (phases/etcd.ts). */
  etcdMembers: "etcdctl member list -w simple",
  /** Control planes only: every member's health, asked through the node's etcd container. */
  etcdHealth: "etcdctl endpoint health --cluster -w json",
} as const;

/** Every file the collector reads, besides modules.builtin (whose path the node's kernel gives). */
export const COLLECTED_FILES: readonly string[] = [...Object.values(NODE_FILES), ...SYSCTLS.map(sysctlPath)];

/**
 * Reads each path given as an argument, then the running kernel's modules.builtin, into marked
 * sections: base64, so no content can look like a marker. Paths come as arguments, never
 * interpolated into the script.
 */
const READ_FILES_SCRIPT = `
set -u
for f in "$@" "/lib/modules/$(uname -r)/modules.builtin"; do
  if [ -e "$f" ]; then
    printf '\\n@@file %s\\n' "$f"
    base64 -w0 < "$f" || printf '\\n@@unreadable %s\\n' "$f"
  else
    printf '\\n@@nofile %s\\n' "$f"
  fi
done
`;

/** parseFileSections turns the script's output into path -> content (null: no such file). */
function parseFileSections(out: string): Record<string, string | null> {
  const files: Record<string, string | null> = {};
  for (const chunk of out.split("\n@@").slice(1)) {
    const nl = chunk.indexOf("\n");
    const head = nl === -1 ? chunk : chunk.slice(0, nl);
    const body = nl === -1 ? "" : chunk.slice(nl + 1);
    const space = head.indexOf(" ");
    const [kind, path] = [head.slice(0, space), head.slice(space + 1)];
    if (kind === "file") files[path] = Buffer.from(body.trim(), "base64").toString("utf8");
    else if (kind === "nofile") files[path] = null;
    else if (kind === "unreadable") delete files[path];
  }
  return files;
}

/** Resolver options for the localhost lookup: a DNS server that does not answer costs 2 s, not 10. */
const QUICK_RESOLVER = "RES_OPTIONS=timeout:2 attempts:1";

/**
 * collectNode reads what the node checks need, all commands at once (the Remote caps how many
 * channels are open). A command that fails is kept with its exit code and output: that is
 * evidence too (containerd not installed, localhost not resolvable). It throws only when the
 * connection itself fails.
 */
export async function collectNode(remote: Remote, opts: { controlPlane?: boolean } = {}): Promise<NodeEvidence> {
  const exec = (argv: readonly string[], timeoutMs = 30_000, stdin?: string): Promise<CommandEvidence> =>
    remote.exec(argv, { timeoutMs, stdin }).then(({ code, stdout, stderr }) => ({ code, stdout, stderr }));
  const clock = (async () => {
    const before = Date.now();
    const result = await exec(["date", "+%s%3N"]);
    return { result, hostTimeMs: Math.round((before + Date.now()) / 2) };
  })();
  // etcd is asked on control planes only, through the etcdctl in its own container.
  const etcd = (args: readonly string[]) =>
    opts.controlPlane ? exec(etcdctlArgv(args), 40_000) : Promise.resolve(undefined);
  const [read, containerd, localhost, addresses, time, etcdMembers, etcdHealth] = await Promise.all([
    exec(["sh", "-s", "--", ...COLLECTED_FILES], 60_000, READ_FILES_SCRIPT),
    exec(["containerd", "config", "dump"]),
    exec(["env", QUICK_RESOLVER, "getent", "ahosts", "localhost"], 20_000),
    exec(["ip", "-j", "addr", "show"]),
    clock,
    etcd(["member", "list", "-w", "simple"]),
    etcd(["endpoint", "health", "--cluster", "-w", "json"]),
  ]);
  return {
    files: parseFileSections(read.stdout),
    commands: {
      [NODE_COMMANDS.files]: { ...read, stdout: "" },
      [NODE_COMMANDS.containerdConfig]: containerd,
      [NODE_COMMANDS.localhost]: localhost,
      [NODE_COMMANDS.addresses]: addresses,
      [NODE_COMMANDS.clock]: time.result,
      ...(etcdMembers ? { [NODE_COMMANDS.etcdMembers]: etcdMembers } : {}),
      ...(etcdHealth ? { [NODE_COMMANDS.etcdHealth]: etcdHealth } : {}),
    },
    hostTimeMs: time.hostTimeMs,
  };
}

/** An interface as `ip -j addr show` reports it. */
export interface NodeInterface {
  readonly name: string;
  readonly linkType: string;
  /** Lowercase MAC address (absent for links without one). */
  readonly mac?: string;
  readonly up: boolean;
  readonly addresses: readonly {
    readonly family: "inet" | "inet6";
    readonly address: string;
    readonly prefix: number;
  }[];
}

/** nodeInterfaces parses the `ip -j addr show` evidence; undefined when the command failed or said nothing usable. */
export function nodeInterfaces(ev: NodeEvidence): NodeInterface[] | undefined {
  const r = ev.commands[NODE_COMMANDS.addresses];
  if (r?.code !== 0) return undefined;
  let links: unknown;
  try {
    links = JSON.parse(r.stdout);
  } catch {
    return undefined;
  }
  if (!Array.isArray(links)) return undefined;
  return objects(links).map((l) => {
    const mac = str(l, "address");
    return {
      name: str(l, "ifname") ?? "?",
      linkType: str(l, "link_type") ?? "",
      ...(mac && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac) ? { mac: mac.toLowerCase() } : {}),
      up: strings(l, "flags").includes("UP"),
      addresses: objects(l, "addr_info").flatMap((a) => {
        const [family, local] = [str(a, "family"), str(a, "local")];
        return (family === "inet" || family === "inet6") && local
          ? [{ family, address: local, prefix: num(a, "prefixlen") ?? 0 }]
          : [];
      }),
    };
  });
}

/**
 * nodeMacs maps each Ethernet MAC address (lowercase) to the node that has it, so the host's
 * ARP probe can say which node answered. A MAC seen on more than one node names none and is
 * left out: Vagrant gives every VM of a box the same NAT NIC MAC, and Calico gives every
 * cali* interface ee:ee:ee:ee:ee:ee.
 */
export function nodeMacs(nodes: Readonly<Record<string, NodeEvidence>>): Map<string, string> {
  const owners = new Map<string, Set<string>>();
  for (const [node, ev] of Object.entries(nodes)) {
    for (const i of nodeInterfaces(ev) ?? []) {
      if (i.linkType !== "ether" || !i.mac || i.mac === "00:00:00:00:00:00") continue;
      owners.set(i.mac, (owners.get(i.mac) ?? new Set()).add(node));
    }
  }
  const macs = new Map<string, string>();
  for (const [mac, set] of owners) if (set.size === 1) macs.set(mac, [...set][0] as string);
  return macs;
}
