/**
 * Node facts: everything the preparation phases compare against the plan, gathered in one
 * round trip per node (one shell script on stdin, answers in marked sections). Deciding
 * from facts first is what lets a second `kubelab up` change nothing and finish fast.
 */
import type { Remote } from "../remote/types.js";
import type { NodeEnvironment } from "../render/node-environment.js";

/** What kubelab knows about a node before changing anything. */
export interface NodeFacts {
  readonly os: { readonly id: string; readonly versionId: string; readonly prettyName: string };
  /** Debian architecture name: amd64, arm64. */
  readonly arch: string;
  readonly hostname: string;
  /** Node clock, seconds since the epoch, and the local time it was read at (for skew). */
  readonly clock: { readonly node: number; readonly local: number };
  /** Active swap devices (/proc/swaps). */
  readonly swaps: readonly string[];
  /** /etc/fstab lines that mount swap and are not commented out. */
  readonly fstabSwap: readonly string[];
  /** Content of each file asked about; undefined when it does not exist. */
  readonly files: ReadonlyMap<string, string | undefined>;
  /** Effective value of each sysctl asked about; undefined when the key does not exist. */
  readonly sysctls: ReadonlyMap<string, string | undefined>;
  /** Loaded modules (/proc/modules) and filesystems the kernel knows (/proc/filesystems). */
  readonly modules: readonly string[];
  readonly filesystems: readonly string[];
  /** Installed Debian packages asked about, with versions. */
  readonly packages: ReadonlyMap<string, string>;
  /** Packages on hold (apt-mark showhold). */
  readonly held: readonly string[];
  /** `containerd --version` output, when containerd is on the PATH. */
  readonly containerd?: string;
  /** systemd unit states (is-active) asked about. */
  readonly units: ReadonlyMap<string, string>;
  readonly cgroup: "v1" | "v2";
  /**
   * The container technology the node runs in (`systemd-detect-virt --container`:
   * systemd-nspawn, lxc, docker, ...), undefined on a VM or bare metal. Whatever made the
   * machine (kubelab's nspawn provider, or existing hosts that happen to be containers),
   * such a node is rendered as a container node (see {@link nodeEnvironment}).
   */
  readonly container?: string;
  /**
   * Whether the kernel can make each tunnel device Calico may use, found by making one in a
   * throwaway network namespace (built in or as a module, and on container nodes, which have no
   * /lib/modules to look in). A type is absent when the probe could not run: no `unshare` or
   * `ip`, or no right to make a network namespace.
   */
  readonly tunnels: { readonly ipip?: boolean; readonly vxlan?: boolean };
  /** IPv4 addresses by interface (`ip -o -4 addr show`): which interface is the lab's is the one with the node's address. */
  readonly addresses: readonly NodeAddress[];
}

/** An IPv4 address on one of a node's interfaces. */
export interface NodeAddress {
  readonly iface: string;
  readonly address: string;
  readonly prefix: number;
}

/** labInterface is the interface holding `ip` (the node's lab address), if any. */
export function labInterface(facts: NodeFacts, ip: string): string | undefined {
  return facts.addresses.find((a) => a.address === ip)?.iface;
}

/**
 * parseAddresses reads `ip -o -4 addr show`: `2: eth1    inet 192.168.56.11/24 brd ... scope global eth1\ ...`.
 * (Exported for the doctor, which reads the same output.)
 */
export function parseAddresses(out: string): NodeAddress[] {
  const found: NodeAddress[] = [];
  for (const line of out.split("\n")) {
    const m = /^\d+:\s+([^\s@]+)(?:@\S+)?\s+inet\s+(\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(line);
    if (m?.[1] && m[2] && m[3]) found.push({ iface: m[1], address: m[2], prefix: Number(m[3]) });
  }
  return found;
}

/** nodeEnvironment is what the node's facts say it is, for the renderers. */
export function nodeEnvironment(facts: NodeFacts): NodeEnvironment {
  return { container: facts.container !== undefined, cgroupV1: facts.cgroup === "v1" };
}

/** What to ask a node about. */
export interface FactQuery {
  readonly files: readonly string[];
  readonly sysctls: readonly string[];
  readonly packages: readonly string[];
  readonly units: readonly string[];
}

/**
 * The script reads its queries from positional arguments, so nothing is interpolated into
 * it: `sh -s -- F <files...> -- S <sysctls...> -- P <packages...> -- U <units...>`.
 *
 * The tunnels section makes one device of each type inside `unshare --net`: the namespace and
 * its devices vanish when the probe's shell exits, so the node's own network never changes.
 * (Where the type is a module not yet loaded, the kernel loads it on the first `ip link add`,
 * as calico-node would.) On a kernel without `CONFIG_NET_IPIP` the ipip line fails with
 * "Error: Unknown device type." and the section says `ipip no`.
 */
export const FACTS_SCRIPT = `
set -u
sec() { printf '\\n@@%s %s\\n' "$1" "\${2:-}"; }
sec os; cat /etc/os-release 2>/dev/null
sec arch; dpkg --print-architecture 2>/dev/null || uname -m
sec hostname; hostname
sec clock; date +%s
sec swaps; tail -n +2 /proc/swaps 2>/dev/null
sec fstab; grep -E '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab 2>/dev/null
sec modules; cut -d' ' -f1 /proc/modules 2>/dev/null
sec filesystems; awk '{print $NF}' /proc/filesystems 2>/dev/null
sec held; apt-mark showhold 2>/dev/null
sec containerd; containerd --version 2>/dev/null
sec cgroup; [ -f /sys/fs/cgroup/cgroup.controllers ] && echo v2 || echo v1
sec container; systemd-detect-virt --container 2>/dev/null
sec tunnels; command -v ip >/dev/null && unshare --net sh -c '
ip link add kl-probe type ipip 2>/dev/null && echo "ipip yes" || echo "ipip no"
ip link add kl-probe2 type vxlan id 42 dstport 4789 2>/dev/null && echo "vxlan yes" || echo "vxlan no"' 2>/dev/null
sec addrs; ip -o -4 addr show 2>/dev/null
mode=
for a in "$@"; do
  case "$mode:$a" in
    *:--) mode= ;;
    :F|:S|:P|:U) mode=$a ;;
    F:*) if [ -f "$a" ]; then sec file "$a"; base64 -w0 < "$a"; else sec nofile "$a"; fi ;;
    S:*) k=$(echo "$a" | tr . /); if [ -r "/proc/sys/$k" ]; then sec sysctl "$a"; cat "/proc/sys/$k"; else sec nosysctl "$a"; fi ;;
    P:*) v=$(dpkg-query -W -f='\${db:Status-Status} \${Version}' "$a" 2>/dev/null); case "$v" in "installed "*) sec pkg "$a"; echo "\${v#installed }" ;; esac ;;
    U:*) sec unit "$a"; systemctl is-active "$a" 2>/dev/null || true ;;
  esac
done
`;

function sections(out: string): { name: string; arg: string; body: string }[] {
  return out
    .split("\n@@")
    .slice(1)
    .map((chunk) => {
      const nl = chunk.indexOf("\n");
      const head = nl === -1 ? chunk : chunk.slice(0, nl);
      const space = head.indexOf(" ");
      return {
        name: space === -1 ? head : head.slice(0, space),
        arg: space === -1 ? "" : head.slice(space + 1),
        body: nl === -1 ? "" : chunk.slice(nl + 1).replace(/\n$/, ""),
      };
    });
}

const lines = (s: string) => s.split("\n").filter((l) => l.trim() !== "");

/** The tunnels section's `TYPE yes|no` lines; a type the probe did not answer for stays out. */
function parseTunnels(body: string): NodeFacts["tunnels"] {
  const answers = new Map(lines(body).map((l) => l.trim().split(/\s+/) as [string, string | undefined]));
  const answer = (type: string) => {
    const a = answers.get(type);
    return a === "yes" ? true : a === "no" ? false : undefined;
  };
  const ipip = answer("ipip");
  const vxlan = answer("vxlan");
  return { ...(ipip === undefined ? {} : { ipip }), ...(vxlan === undefined ? {} : { vxlan }) };
}

/** parseFacts turns the script's output into NodeFacts (exported for tests). */
export function parseFacts(out: string, localClock: number): NodeFacts {
  const files = new Map<string, string | undefined>();
  const sysctls = new Map<string, string | undefined>();
  const packages = new Map<string, string>();
  const units = new Map<string, string>();
  const single = new Map<string, string>();
  for (const s of sections(out)) {
    if (s.name === "file") files.set(s.arg, Buffer.from(s.body.trim(), "base64").toString("utf8"));
    else if (s.name === "nofile") files.set(s.arg, undefined);
    else if (s.name === "sysctl") sysctls.set(s.arg, s.body.trim());
    else if (s.name === "nosysctl") sysctls.set(s.arg, undefined);
    else if (s.name === "pkg") packages.set(s.arg, s.body.trim());
    else if (s.name === "unit") units.set(s.arg, s.body.trim() || "unknown");
    else single.set(s.name, s.body);
  }
  const osRelease = new Map(
    lines(single.get("os") ?? "").map((l) => {
      const eq = l.indexOf("=");
      return [l.slice(0, eq), l.slice(eq + 1).replace(/^"(.*)"$/, "$1")] as const;
    }),
  );
  return {
    os: {
      id: osRelease.get("ID") ?? "unknown",
      versionId: osRelease.get("VERSION_ID") ?? "",
      prettyName: osRelease.get("PRETTY_NAME") ?? "unknown",
    },
    arch: (single.get("arch") ?? "").trim(),
    hostname: (single.get("hostname") ?? "").trim(),
    clock: { node: Number((single.get("clock") ?? "0").trim()), local: localClock },
    swaps: lines(single.get("swaps") ?? "").map((l) => l.split(/\s+/)[0] ?? l),
    fstabSwap: lines(single.get("fstab") ?? ""),
    files,
    sysctls,
    modules: lines(single.get("modules") ?? ""),
    filesystems: lines(single.get("filesystems") ?? ""),
    packages,
    held: lines(single.get("held") ?? ""),
    containerd: (single.get("containerd") ?? "").trim() || undefined,
    units,
    cgroup: (single.get("cgroup") ?? "").trim() === "v2" ? "v2" : "v1",
    container: ["", "none"].includes((single.get("container") ?? "").trim())
      ? undefined
      : (single.get("container") ?? "").trim(),
    tunnels: parseTunnels(single.get("tunnels") ?? ""),
    addresses: parseAddresses(single.get("addrs") ?? ""),
  };
}

/**
 * gatherFacts asks a node everything in one command. `now` is this host's clock (ms since
 * the epoch), read as the question goes out so the node's clock can be compared with it.
 */
export async function gatherFacts(remote: Remote, query: FactQuery, now: () => number = Date.now): Promise<NodeFacts> {
  const argv = [
    "sh",
    "-s",
    "--",
    "F",
    ...query.files,
    "--",
    "S",
    ...query.sysctls,
    "--",
    "P",
    ...query.packages,
    "--",
    "U",
    ...query.units,
  ];
  const local = Math.floor(now() / 1000);
  const out = await remote.run(argv, { stdin: FACTS_SCRIPT });
  return parseFacts(out, local);
}
