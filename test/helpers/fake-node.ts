/**
 * Nodes for hermetic phase tests: what a Debian node answers to the facts script, put on a
 * FakeRemote, and a PhaseContext over such nodes whose facts come through the real query
 * (gather-facts.ts) and the real parser (facts.ts). A fresh node is a cloud image nobody has
 * prepared; a prepared node is one every preparation phase has already been through.
 */

import { type PackageSource, upstreamSource } from "../../src/artifacts/package-source.js";
import { refreshFacts } from "../../src/phases/gather-facts.js";
import { CONTAINERD_UNIT } from "../../src/phases/install-containerd.js";
import { sourcesLine } from "../../src/phases/install-kubernetes.js";
import type { Change, PhaseContext } from "../../src/phases/phase.js";
import type { Plan } from "../../src/plan/types.js";
import { renderNodeFiles } from "../../src/render/node-files.js";
import { type CommandCall, FakeRemote, REST } from "./fake-remote.js";

/** The host's clock in every fake context: 2026-01-01T00:00:00Z, in ms. */
export const HOST_CLOCK_MS = Date.UTC(2026, 0, 1);

/** Debian 12's /etc/os-release, as recorded. */
export const DEBIAN_12_OS_RELEASE = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
`;

/** /proc/filesystems as recorded on Debian 12, overlay not loaded yet. */
const FILESYSTEMS = [
  "sysfs",
  "tmpfs",
  "proc",
  "cgroup",
  "cgroup2",
  "devtmpfs",
  "debugfs",
  "securityfs",
  "sockfs",
  "bpf",
  "pipefs",
  "ramfs",
  "devpts",
  "ext3",
  "ext2",
  "ext4",
  "mqueue",
];

/** What a node is, as far as the facts script can see; its files are the FakeRemote's. */
export interface NodeState {
  readonly osRelease: string;
  readonly arch: string;
  readonly hostname: string;
  /** How far the node's clock is ahead of the host's, in seconds. */
  readonly clockSkewSeconds: number;
  /** Lines of /proc/swaps after its header. */
  readonly swaps: readonly string[];
  readonly modules: readonly string[];
  readonly filesystems: readonly string[];
  readonly held: readonly string[];
  /** `containerd --version`, when it is installed. */
  readonly containerd?: string;
  readonly cgroup: "v1" | "v2";
  /** `systemd-detect-virt --container`; absent: none (a VM). */
  readonly container?: string;
  /** The tunnel probe's answer per device type; a type left out is one the probe could not answer for. */
  readonly tunnels: { readonly ipip?: boolean; readonly vxlan?: boolean };
  readonly sysctls: Readonly<Record<string, string>>;
  /** Installed packages and their versions. */
  readonly packages: Readonly<Record<string, string>>;
  /** `systemctl is-active` of units. */
  readonly units: Readonly<Record<string, string>>;
  readonly files: Readonly<Record<string, string>>;
  /** IPv4 addresses by interface, as `ip -o -4 addr show` lists them. */
  readonly addresses: readonly { readonly iface: string; readonly address: string; readonly prefix: number }[];
}

/** A cloud image before kubelab: another hostname, swap on, no module, sysctl or package of kubelab's. */
export function freshNode(): NodeState {
  return {
    osRelease: DEBIAN_12_OS_RELEASE,
    arch: "amd64",
    hostname: "debian",
    clockSkewSeconds: 0,
    swaps: ["/swap.img                               file\t\t2097148\t\t0\t\t-2"],
    modules: ["ext4", "crc32c_generic"],
    filesystems: FILESYSTEMS,
    held: [],
    cgroup: "v2",
    // Debian's kernel has both as modules, which the probe loads.
    tunnels: { ipip: true, vxlan: true },
    sysctls: { "net.ipv4.ip_forward": "0" },
    packages: {},
    units: { containerd: "inactive", kubelet: "inactive" },
    addresses: [
      { iface: "lo", address: "127.0.0.1", prefix: 8 },
      { iface: "eth0", address: "10.0.2.15", prefix: 24 },
    ],
    files: {
      "/etc/hosts": "127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n",
      "/etc/fstab": "UUID=0a1b / ext4 errors=remount-ro 0 1\n/swap.img\tnone\tswap\tsw\t0\t0\n",
    },
  };
}

/**
 * A node every preparation phase has been through for `plan`: its files are what the phases
 * render for it, the packages and containerd are the pinned ones, services run.
 */
export function preparedNode(plan: Plan, name: string, over: Partial<NodeState> = {}): NodeState {
  const fresh = freshNode();
  const cgroup = over.cgroup ?? fresh.cgroup;
  const inContainer = over.container !== undefined;
  const rendered = renderNodeFiles(plan, name, { container: inContainer, cgroupV1: cgroup === "v1" });
  const version = plan.kubernetes.packageVersion;
  const k8s = upstreamSource(plan, fakeStore()).kubernetes;
  return {
    ...fresh,
    hostname: name,
    swaps: [],
    modules: [...fresh.modules, "overlay", "br_netfilter"],
    filesystems: [...fresh.filesystems, "overlay"],
    held: ["kubeadm", "kubectl", "kubelet"],
    containerd: `containerd github.com/containerd/containerd/v2 ${plan.containerd.version} 0123456789abcdef`,
    sysctls: {
      "net.bridge.bridge-nf-call-iptables": "1",
      "net.bridge.bridge-nf-call-ip6tables": "1",
      "net.ipv4.ip_forward": "1",
    },
    packages: { kubeadm: version, kubelet: version, kubectl: version },
    units: { containerd: "active", kubelet: "active" },
    // The lab interface: eth1, holding the node's lab address.
    addresses: [
      ...fresh.addresses,
      {
        iface: "eth1",
        address: plan.nodes.find((n) => n.name === name)?.ip ?? "192.0.2.1",
        prefix: plan.network.prefix,
      },
    ],
    files: {
      "/etc/fstab": "UUID=0a1b / ext4 errors=remount-ro 0 1\n",
      ...Object.fromEntries(rendered.map((f) => [f.path, f.content])),
      "/etc/systemd/system/containerd.service": CONTAINERD_UNIT,
      "/etc/apt/sources.list.d/kubernetes.list": "url" in k8s ? sourcesLine(k8s.url, k8s.keyUrl !== undefined) : "",
    },
    ...over,
  };
}

const section = (name: string, arg: string, body: string) => `\n@@${name} ${arg}\n${body}`;
const linesOf = (list: readonly string[]) => list.map((l) => `${l}\n`).join("");

/** The argument lists after F, S, P and U in the facts command `sh -s -- F ... -- S ... -- P ... -- U ...`. */
function queryOf(argv: readonly string[]): Record<string, string[]> {
  const lists: Record<string, string[]> = { F: [], S: [], P: [], U: [] };
  let mode: string | undefined;
  for (const a of argv.slice(3)) {
    if (a === "--") mode = undefined;
    else if (mode === undefined) mode = a;
    else lists[mode]?.push(a);
  }
  return lists;
}

/**
 * factsOutput is what the facts script prints on a node in `state` with `files`, asked
 * `argv`, at host time `nowMs`: the section layout recorded from a real run, section by section.
 */
export function factsOutput(
  state: NodeState,
  files: ReadonlyMap<string, string>,
  argv: readonly string[],
  nowMs: number,
): string {
  const q = queryOf(argv);
  const fstab = (files.get("/etc/fstab") ?? "").split("\n").filter((l) => /^[^#].*\sswap\s/.test(l));
  return [
    section("os", "", state.osRelease),
    section("arch", "", `${state.arch}\n`),
    section("hostname", "", `${state.hostname}\n`),
    section("clock", "", `${Math.floor(nowMs / 1000) + state.clockSkewSeconds}\n`),
    section("swaps", "", linesOf(state.swaps)),
    section("fstab", "", linesOf(fstab)),
    section("modules", "", linesOf(state.modules)),
    section("filesystems", "", linesOf(state.filesystems)),
    section("held", "", linesOf(state.held)),
    section("containerd", "", state.containerd ? `${state.containerd}\n` : ""),
    section("cgroup", "", `${state.cgroup}\n`),
    section("container", "", `${state.container ?? "none"}\n`),
    section(
      "tunnels",
      "",
      linesOf(Object.entries(state.tunnels).map(([type, can]) => `${type} ${can ? "yes" : "no"}`)),
    ),
    section(
      "addrs",
      "",
      linesOf(
        state.addresses.map(
          (a, i) =>
            `${i + 1}: ${a.iface}    inet ${a.address}/${a.prefix} scope global ${a.iface}\\       valid_lft forever preferred_lft forever`,
        ),
      ),
    ),
    ...(q.F ?? []).map((f) => {
      const content = files.get(f);
      return content === undefined
        ? section("nofile", f, "")
        : section("file", f, Buffer.from(content).toString("base64"));
    }),
    ...(q.S ?? []).map((k) => {
      const v = state.sysctls[k];
      return v === undefined ? section("nosysctl", k, "") : section("sysctl", k, `${v}\n`);
    }),
    ...(q.P ?? []).flatMap((p) => {
      const v = state.packages[p];
      return v === undefined ? [] : [section("pkg", p, `${v}\n`)];
    }),
    ...(q.U ?? []).map((u) => section("unit", u, `${state.units[u] ?? "inactive"}\n`)),
  ].join("");
}

/** fakeNode is a FakeRemote holding `state`'s files that answers the facts script from `state`. */
export function fakeNode(name: string, state: NodeState, clockMs = () => HOST_CLOCK_MS): FakeRemote {
  const node = new FakeRemote(name, state.files);
  node.on(["sh", "-s", "--", "F", REST], (call: CommandCall, n) => ({
    stdout: factsOutput(state, n.files, call.argv, clockMs()),
  }));
  return node;
}

/** fakeStore stands in for the artifact store: any pinned file's bytes are a line naming it. */
export function fakeStore(): PackageSource["artifacts"] {
  return { get: async (file) => Buffer.from(`contents of ${file.url}\n`) };
}

/** byNode groups changes by node, each node's in the order made (nodes are worked on at once). */
export function byNode(changes: readonly Change[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const c of changes) out[c.node] = [...(out[c.node] ?? []), c.what];
  return out;
}

/** A context over fake nodes, with what the test reads back. */
export interface FakeCluster {
  readonly ctx: PhaseContext;
  /** The fake node of each plan node, by name. */
  readonly nodes: ReadonlyMap<string, FakeRemote>;
  /** What the phases logged. */
  readonly lines: string[];
  /** node returns a node's FakeRemote (throws for a name not in the plan). */
  node(name: string): FakeRemote;
  /** touched names the nodes that received any call (command, read or write), in plan order. */
  touched(): string[];
}

/** Options of {@link fakeCluster}. */
export interface FakeClusterOptions {
  readonly dryRun?: boolean;
  /** Where packages come from. @default upstreamSource(plan, fakeStore()) */
  readonly packages?: PackageSource;
  readonly fileServer?: PhaseContext["fileServer"];
  /** Gather every node's facts (the real query and parser) before returning. @default true */
  readonly gather?: boolean;
}

/**
 * fakeCluster is a PhaseContext over one fake node per plan node, each in the state `states`
 * gives it (default: prepared). Facts are gathered, then the nodes' call logs cleared, so
 * they hold only what the phase under test does.
 */
export async function fakeCluster(
  plan: Plan,
  states: Readonly<Record<string, NodeState>> = {},
  opts: FakeClusterOptions = {},
): Promise<FakeCluster> {
  const clock = () => HOST_CLOCK_MS;
  const nodes = new Map(
    plan.nodes.map((n) => [n.name, fakeNode(n.name, states[n.name] ?? preparedNode(plan, n.name), clock)]),
  );
  const lines: string[] = [];
  const ctx: PhaseContext = {
    plan,
    hosts: nodes,
    facts: new Map(),
    packages: opts.packages ?? upstreamSource(plan, fakeStore()),
    fileServer: opts.fileServer,
    dryRun: opts.dryRun ?? false,
    concurrency: 8,
    log: (line) => lines.push(line),
    changes: [],
    restart: new Map(),
    clock,
  };
  if (opts.gather !== false) {
    for (const n of plan.nodes) await refreshFacts(ctx, n.name);
    for (const node of nodes.values()) node.forget();
  }
  return {
    ctx,
    nodes,
    lines,
    node(name) {
      const node = nodes.get(name);
      if (!node) throw new Error(`no fake node ${name} in cluster ${plan.name}`);
      return node;
    },
    touched: () => [...nodes.values()].filter((n) => n.calls.length > 0).map((n) => n.node),
  };
}
