/**
 * Node evidence for doctor's tests, made of real things: the files kubelab's renderers write,
 * `containerd config dump` of a rendered config by a real containerd, `getent ahosts localhost`
 * answered by this host's glibc over given /etc/hosts, resolv.conf and nsswitch.conf (bound
 * into a private mount and network namespace, so nothing on this host changes and no DNS
 * query leaves it), `ip -j addr show` of interfaces made in a private network namespace, and
 * `date` printing a given time.
 */
import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import { parseAllDocuments, stringify } from "yaml";
import { modulesBuiltinPath, NODE_COMMANDS, NODE_FILES, sysctlPath } from "../../src/doctor/nodes.js";
import type { CommandEvidence, NodeEvidence } from "../../src/doctor/types.js";
import { firstControlPlane } from "../../src/plan/control-plane.js";
import type { Plan } from "../../src/plan/types.js";
import { KUBEADM_INIT_PATH } from "../../src/render/kubeadm.js";
import { PLAIN_NODE } from "../../src/render/node-environment.js";
import { renderNodeFiles } from "../../src/render/node-files.js";
import { outsideHermetic, unavailable } from "./prereq.js";
import { findOnPath } from "./tools.js";

const execFileP = promisify(execFile);

/** Runs a command, keeping its exit code and output whatever they are. */
export async function command(file: string, args: readonly string[]): Promise<CommandEvidence> {
  try {
    const { stdout, stderr } = await execFileP(file, args, { encoding: "utf8", timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as Error & { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** unshare's arguments for a private mount + network namespace (a user namespace too when not root). */
const UNSHARE = process.getuid?.() === 0 ? ["-mn"] : ["-rmn"];

/** requireNamespaces is true when private namespaces can be made here; otherwise skips (throws under CI). */
export function requireNamespaces(t: Pick<TestContext, "skip">): boolean {
  outsideHermetic("root and private namespaces");
  let why: string | undefined;
  if (!findOnPath("unshare") || !findOnPath("ip") || !findOnPath("getent")) why = "unshare, ip and getent are needed";
  else {
    try {
      execFileSync("unshare", [...UNSHARE, "true"], { stdio: "ignore" });
    } catch {
      why = "cannot make a private namespace with unshare here";
    }
  }
  if (!why) return true;
  unavailable(t, why, "run the test as root on a host with unshare (util-linux)");
  return false;
}

/** Files standing in for a node's resolver configuration. */
export interface ResolverFiles {
  readonly hosts: string;
  readonly resolvConf: string;
  readonly nsswitch: string;
}

/**
 * getentLocalhost runs `getent ahosts localhost` (with the collector's resolver options) with
 * the given files in place of /etc/hosts, /etc/resolv.conf and /etc/nsswitch.conf. The network
 * namespace has no interface up, so a lookup that goes to DNS fails at once, as it would
 * against a server that does not know the name.
 */
export async function getentLocalhost(files: ResolverFiles): Promise<CommandEvidence> {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-resolver-"));
  try {
    await writeFile(join(dir, "hosts"), files.hosts);
    await writeFile(join(dir, "resolv.conf"), files.resolvConf);
    await writeFile(join(dir, "nsswitch.conf"), files.nsswitch);
    const script =
      'mount --bind "$1/hosts" /etc/hosts && mount --bind "$1/resolv.conf" /etc/resolv.conf && ' +
      'mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf && exec env RES_OPTIONS="timeout:2 attempts:1" getent ahosts localhost';
    return await command("unshare", [...UNSHARE, "sh", "-c", script, "sh", dir]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An interface to make: a veth end, with its MAC and IPv4 addresses (`a.b.c.d/n`). */
export interface Link {
  readonly name: string;
  readonly mac: string;
  readonly addresses: readonly string[];
}

/**
 * ipAddr is the real `ip -j addr show` of a network namespace holding loopback and the given
 * links, made as veth pairs (two links per pair; an odd last one gets a peer named `<name>p`).
 */
export async function ipAddr(links: readonly Link[]): Promise<CommandEvidence> {
  const steps: string[] = ["ip link set lo up"];
  for (let i = 0; i < links.length; i += 2) {
    const a = links[i] as Link;
    const b = links[i + 1] ?? { name: `${a.name}p`, mac: "", addresses: [] };
    steps.push(`ip link add ${a.name} type veth peer name ${b.name}`);
    for (const l of [a, b]) {
      if (l.mac) steps.push(`ip link set ${l.name} address ${l.mac}`);
      for (const addr of l.addresses) steps.push(`ip addr add ${addr} dev ${l.name}`);
      steps.push(`ip link set ${l.name} up`);
    }
  }
  steps.push("exec ip -j addr show");
  return command("unshare", [...UNSHARE, "sh", "-ec", steps.join("\n")]);
}

/** clockRead is `date +%s%3N` printing this host's time shifted by `skewMs`, with the host time around it. */
export async function clockRead(skewMs = 0): Promise<{ result: CommandEvidence; hostTimeMs: number }> {
  const before = Date.now();
  const args = skewMs === 0 ? ["+%s%3N"] : ["-d", `@${((Date.now() + skewMs) / 1000).toFixed(3)}`, "+%s%3N"];
  const result = await command("date", args);
  return { result, hostTimeMs: Math.round((before + Date.now()) / 2) };
}

/** containerdDump is `containerd --config FILE config dump` of the given config.toml content. */
export async function containerdDump(bin: string, content: string): Promise<CommandEvidence> {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-containerd-"));
  try {
    await writeFile(join(dir, "config.toml"), content);
    return await command(bin, ["--config", join(dir, "config.toml"), "config", "dump"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The KubeletConfiguration kubeadm writes to /var/lib/kubelet/config.yaml, from kubelab's init file. */
export function kubeletConfigYaml(plan: Plan): string {
  const init = renderNodeFiles(plan, firstControlPlane(plan).name, PLAIN_NODE).find(
    (f) => f.path === KUBEADM_INIT_PATH,
  );
  const doc = parseAllDocuments(init?.content ?? "")
    .map((d) => d.toJS() as Record<string, unknown>)
    .find((d) => d.kind === "KubeletConfiguration");
  if (!doc) throw new Error("no KubeletConfiguration in the rendered kubeadm init file");
  return stringify(doc);
}

/** This host's /proc file, or its first line only (the header of /proc/swaps). */
const proc = (path: string, headerOnly = false) => {
  const text = readFileSync(path, "utf8");
  return headerOnly ? `${text.split("\n")[0]}\n` : text;
};

/** How the kernel side of a prepared node looks. */
export type Kernel = "modules" | "built-in";

/**
 * A /proc/modules of an Ubuntu VM after kubelab's modules-load.d file (same format as the
 * kernel's: name size refcount users state address).
 */
function procModules(plan: Plan): string {
  const lines = ["overlay 212992 0 - Live 0x0000000000000000", "br_netfilter 32768 0 - Live 0x0000000000000000"];
  lines.push("bridge 421888 1 br_netfilter, Live 0x0000000000000000");
  if (plan.kubernetes.proxyMode === "ipvs")
    for (const m of ["ip_vs_sh", "ip_vs_wrr", "ip_vs_rr", "ip_vs", "nf_conntrack"])
      lines.push(`${m} 16384 0 - Live 0x0000000000000000`);
  return `${lines.join("\n")}\n`;
}

/** What to put into a node's evidence besides the rendered files. */
export interface NodeParts {
  readonly containerd: CommandEvidence;
  readonly localhost: CommandEvidence;
  readonly addresses: CommandEvidence;
  readonly clock: { result: CommandEvidence; hostTimeMs: number };
  readonly resolver: ResolverFiles;
  /** Extra or replaced files (null: the node has no such file). */
  readonly files?: Readonly<Record<string, string | null>>;
  /** "modules": a VM kernel that loads modules; "built-in": this host's kernel, as nspawn nodes see it. */
  readonly kernel?: Kernel;
}

/**
 * preparedNode is the evidence of a node kubelab prepared and kubeadm configured: every file
 * renderNodeFiles writes, kubelet's config.yaml as kubeadm writes it from kubelab's init file,
 * the sysctls at the values kubelab's sysctl file sets, and this host's /proc where it shows
 * the kernel (filesystems, osrelease, the /proc/swaps header).
 */
export function preparedNode(plan: Plan, node: string, parts: NodeParts): NodeEvidence {
  const files: Record<string, string | null> = {};
  for (const f of renderNodeFiles(plan, node, PLAIN_NODE)) files[f.path] = f.content;
  const sysctls = files[NODE_FILES.sysctlConf] ?? "";
  for (const line of sysctls.split("\n").filter((l) => l.includes("=") && !l.startsWith("#"))) {
    const [key = "", value = ""] = line.split("=").map((s) => s.trim());
    files[sysctlPath(key)] = `${value}\n`;
  }
  const release = proc("/proc/sys/kernel/osrelease");
  const builtIn = parts.kernel === "built-in";
  Object.assign(files, {
    [NODE_FILES.hosts]: parts.resolver.hosts,
    [NODE_FILES.resolvConf]: parts.resolver.resolvConf,
    [NODE_FILES.nsswitch]: parts.resolver.nsswitch,
    [NODE_FILES.resolvedResolvConf]: null,
    [NODE_FILES.swaps]: proc("/proc/swaps", true),
    [NODE_FILES.modules]: builtIn ? null : procModules(plan),
    [modulesBuiltinPath(release)]: null,
    [NODE_FILES.filesystems]: proc("/proc/filesystems"),
    [NODE_FILES.ipVs]:
      plan.kubernetes.proxyMode === "ipvs"
        ? "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n"
        : null,
    [NODE_FILES.conntrackMax]: "262144\n",
    [NODE_FILES.kernelRelease]: release,
    [NODE_FILES.hostname]: `${node}\n`,
    [NODE_FILES.kubeletConfig]: kubeletConfigYaml(plan),
    [NODE_FILES.kubeadmFlags]: null,
    ...parts.files,
  });
  return {
    files,
    commands: {
      [NODE_COMMANDS.files]: { code: 0, stdout: "", stderr: "" },
      [NODE_COMMANDS.containerdConfig]: parts.containerd,
      [NODE_COMMANDS.localhost]: parts.localhost,
      [NODE_COMMANDS.addresses]: parts.addresses,
      [NODE_COMMANDS.clock]: parts.clock.result,
    },
    hostTimeMs: parts.clock.hostTimeMs,
  };
}
