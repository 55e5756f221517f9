/**
 * Checks of what was read on the nodes (src/doctor/nodes.ts): the runtime and kubelet settings
 * and the OS state kubelab prepares, each compared with what kubelab renders for the plan.
 * One finding per node, subject the node's name. Also the address each node registered, as
 * the API has it (api.node-addresses): the same failure seen from the cluster's side; and
 * whether each node is Ready (node.ready, in ./node-ready.ts).
 */
import { parse as parseToml } from "smol-toml";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { containsAddress, parseIpv4 } from "../../net/ipv4.js";
import type { Plan, PlanNode } from "../../plan/types.js";
import { renderModulesLoad, renderSysctl } from "../../render/node-files.js";
import { API_KEYS } from "../api.js";
import { modulesBuiltinPath, NODE_COMMANDS, NODE_FILES, nodeInterfaces, sysctlPath } from "../nodes.js";
import { at, nameOf, objects, str } from "../object.js";
import type { Check, CommandEvidence, Evidence, Finding, NodeEvidence } from "../types.js";
import { heldByMany, inRange, items, NAT } from "./common.js";
import { nodeReady } from "./node-ready.js";

type NodeFinding = Omit<Finding, "subject">;

/** A file's content: null when the node has no such file, undefined when it was not read. */
const file = (ev: NodeEvidence, path: string): string | null | undefined => ev.files[path];

const lastLine = (s: string) => s.trim().split("\n").at(-1) ?? "";

/** Why a file is missing from the evidence (the read script's own error, if any). */
function notRead(ev: NodeEvidence, path: string): NodeFinding {
  const read = ev.commands[NODE_COMMANDS.files];
  const why = read && read.code !== 0 ? `: ${lastLine(read.stderr) || `exit ${read.code}`}` : "";
  return {
    verdict: "warn",
    evidence: [`${path} was not read${why}`],
    fix: "collect the evidence again (kubelab doctor)",
  };
}

/** A command that failed, quoted. */
const failed = (key: string, r: CommandEvidence) =>
  `\`${key}\` exited ${r.code}${r.stderr.trim() ? `: ${lastLine(r.stderr)}` : ""}`;

/** perNode runs `fn` for every plan node; a node without evidence gets a warning saying so. */
function perNode(
  e: Evidence,
  plan: Plan,
  fn: (node: PlanNode, ev: NodeEvidence) => NodeFinding | undefined,
): Finding[] {
  return plan.nodes.flatMap((n) => {
    const ev = e.nodes?.[n.name];
    if (!ev)
      return [
        {
          verdict: "warn" as const,
          subject: n.name,
          evidence: ["nothing was collected from this node"],
          fix: "make the node reachable over SSH (kubelab status), then run doctor again",
        },
      ];
    const f = fn(n, ev);
    return f ? [{ subject: n.name, ...f }] : [];
  });
}

// --- cgroup driver -------------------------------------------------------------------------

type Driver = "systemd" | "cgroupfs";

/** runc's cgroup driver in a `containerd config dump`, and the line that says so. */
function containerdDriver(dump: string): { driver: Driver; said: string } | { error: string } {
  let toml: unknown;
  try {
    toml = parseToml(dump);
  } catch (e) {
    return { error: `\`containerd config dump\` is not TOML: ${(e as Error).message.split("\n")[0]}` };
  }
  const version = Number(at(toml, "version") ?? 1);
  // Schema 2 (containerd 1.x) keeps runtimes in the CRI plugin; 3 and 4 (2.x) in cri.v1.runtime.
  const plugin = version >= 3 ? "io.containerd.cri.v1.runtime" : version === 2 ? "io.containerd.grpc.v1.cri" : "cri";
  const name = String(at(toml, "plugins", plugin, "containerd", "default_runtime_name") ?? "runc");
  const runtime = at(toml, "plugins", plugin, "containerd", "runtimes", name);
  const table = `[plugins.'${plugin}'.containerd.runtimes.${name}.options]`;
  if (!runtime) return { error: `config version ${version} has no default runtime ${name} under plugins.'${plugin}'` };
  const systemd = at(runtime, "options", "SystemdCgroup");
  const said =
    systemd === undefined
      ? `containerd (config dump, version ${version}): ${table} has no SystemdCgroup (runc's default: false, cgroupfs)`
      : `containerd (config dump, version ${version}): ${table} SystemdCgroup = ${String(systemd)}`;
  return { driver: systemd === true ? "systemd" : "cgroupfs", said };
}

/** kubelet's cgroup driver: its configuration, or before kubeadm ran, what it will get. */
function kubeletDriver(ev: NodeEvidence, plan: Plan): { driver: Driver; said: string } | { error: string } {
  const config = file(ev, NODE_FILES.kubeletConfig);
  if (config === undefined) return { error: `${NODE_FILES.kubeletConfig} was not read` };
  if (config !== null) {
    let doc: unknown;
    try {
      doc = parseYaml(config);
    } catch (e) {
      return { error: `${NODE_FILES.kubeletConfig} is not YAML: ${(e as Error).message.split("\n")[0]}` };
    }
    const driver = at(doc, "cgroupDriver");
    return driver === undefined
      ? {
          driver: "cgroupfs",
          said: `kubelet: ${NODE_FILES.kubeletConfig} has no cgroupDriver (kubelet's default: cgroupfs)`,
        }
      : {
          driver: driver === "systemd" ? "systemd" : "cgroupfs",
          said: `kubelet: ${NODE_FILES.kubeletConfig} cgroupDriver: ${String(driver)}`,
        };
  }
  const init = file(ev, NODE_FILES.kubeadmInit);
  let kubelet: unknown;
  try {
    kubelet = parseAllDocuments(init ?? "")
      .map((d) => d.toJS() as unknown)
      .find((d) => at(d, "kind") === "KubeletConfiguration");
  } catch {
    kubelet = undefined; // an unreadable init file says nothing; the plan does
  }
  if (kubelet) {
    // kubeadm defaults an unset cgroupDriver to systemd (since v1.22).
    const driver = at(kubelet, "cgroupDriver") === "cgroupfs" ? "cgroupfs" : "systemd";
    return {
      driver,
      said: `kubelet: no ${NODE_FILES.kubeletConfig} yet (kubeadm init has not run); ${NODE_FILES.kubeadmInit} gives it cgroupDriver: ${driver}`,
    };
  }
  const driver = plan.containerd.cgroupDriver;
  return {
    driver,
    said: `kubelet: no ${NODE_FILES.kubeletConfig} yet (kubeadm has not run); it will get cgroupDriver: ${driver} (containerd.cgroupDriver in the cluster file)`,
  };
}

function cgroupDriver(ev: NodeEvidence, plan: Plan): NodeFinding {
  const dump = ev.commands[NODE_COMMANDS.containerdConfig];
  const want = plan.containerd.cgroupDriver;
  const table =
    plan.containerd.configVersion === 3
      ? "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]"
      : `[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]`;
  const containerdFix = `set SystemdCgroup = ${want === "systemd"} under ${table} in /etc/containerd/config.toml and restart containerd, or run kubelab up, which renders it and kubelet's cgroupDriver from one setting (never sed the output of \`containerd config default\`)`;
  if (!dump) return notRead(ev, NODE_COMMANDS.containerdConfig);
  if (dump.code !== 0)
    return {
      verdict: "fail",
      evidence: [failed(NODE_COMMANDS.containerdConfig, dump)],
      fix:
        dump.code === 127
          ? "containerd is not installed: run kubelab up"
          : "containerd cannot load /etc/containerd/config.toml: render it again with kubelab up",
    };
  const c = containerdDriver(dump.stdout);
  const k = kubeletDriver(ev, plan);
  if ("error" in c) return { verdict: "fail", evidence: [c.error], fix: containerdFix };
  if ("error" in k) return { verdict: "warn", evidence: [c.said, k.error], fix: "collect the evidence again" };
  const evidence = [c.said, k.said];
  if (c.driver !== k.driver) {
    evidence.push(
      `runc uses ${c.driver} and kubelet ${k.driver}: the control plane's static pods crash-loop after kubeadm init`,
    );
    const fix =
      c.driver !== want
        ? containerdFix
        : `set cgroupDriver: ${want} in ${NODE_FILES.kubeletConfig} (and in the kubelet-config ConfigMap in kube-system, which joining nodes download) and restart kubelet`;
    return { verdict: "fail", evidence, fix };
  }
  if (c.driver !== want)
    return {
      verdict: "warn",
      evidence: [...evidence, `both agree on ${c.driver}, but the cluster file says containerd.cgroupDriver: ${want}`],
      fix: "run kubelab up to render containerd and kubelet from the cluster file",
    };
  return { verdict: "pass", evidence };
}

// --- swap, modules, sysctls ------------------------------------------------------------------

function swap(ev: NodeEvidence): NodeFinding {
  const swaps = file(ev, NODE_FILES.swaps);
  if (swaps === undefined) return notRead(ev, NODE_FILES.swaps);
  if (swaps === null) return { verdict: "pass", evidence: ["no /proc/swaps: the kernel has no swap support"] };
  const active = swaps
    .split("\n")
    .slice(1)
    .filter((l) => l.trim() !== "");
  if (active.length === 0) return { verdict: "pass", evidence: ["/proc/swaps lists no active swap"] };
  const evidence = active.map((l) => `/proc/swaps: ${l.trim().replace(/\s+/g, " ")}`);
  const config = file(ev, NODE_FILES.kubeletConfig);
  const allowed = config ? at(safeYaml(config), "failSwapOn") === false : false;
  if (allowed)
    return {
      verdict: "warn",
      evidence: [...evidence, `${NODE_FILES.kubeletConfig}: failSwapOn: false (kubelet runs with swap on)`],
      fix: "swap on is allowed by kubelet here; turn it off (swapoff -a) unless the lab is meant to use swap",
    };
  return {
    verdict: "fail",
    evidence: [...evidence, "kubelet refuses to start while swap is on (failSwapOn defaults to true)"],
    fix: "swapoff -a, and comment the swap line out of /etc/fstab so it stays off after a reboot (kubelab up does both)",
  };
}

function safeYaml(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return undefined;
  }
}

/** How to tell a module's feature is in the kernel even where it is built in (see phases/configure-os.ts). */
const FEATURE: Readonly<Record<string, { path: string; line?: string; present: string; absent: string }>> = {
  overlay: {
    path: NODE_FILES.filesystems,
    line: "overlay",
    present: "/proc/filesystems lists overlay",
    absent: "/proc/filesystems does not list overlay",
  },
  br_netfilter: {
    path: sysctlPath("net.bridge.bridge-nf-call-iptables"),
    present: "/proc/sys/net/bridge/bridge-nf-call-iptables exists",
    absent: "no /proc/sys/net/bridge/bridge-nf-call-iptables",
  },
  ip_vs: { path: NODE_FILES.ipVs, present: "/proc/net/ip_vs exists", absent: "no /proc/net/ip_vs" },
  nf_conntrack: {
    path: NODE_FILES.conntrackMax,
    present: "/proc/sys/net/netfilter/nf_conntrack_max exists",
    absent: "no /proc/sys/net/netfilter/nf_conntrack_max",
  },
};

function modules(ev: NodeEvidence, plan: Plan): NodeFinding {
  const rendered = renderModulesLoad(plan);
  const wanted = rendered.content.split("\n").filter((l) => l && !l.startsWith("#"));
  const loaded = file(ev, NODE_FILES.modules);
  const release = file(ev, NODE_FILES.kernelRelease);
  const builtin = release ? file(ev, modulesBuiltinPath(release)) : undefined;
  const evidence: string[] = [];
  const missing: string[] = [];
  const unknown: string[] = [];
  for (const m of wanted) {
    const feature = FEATURE[m];
    const content = feature ? file(ev, feature.path) : undefined;
    if (loaded?.split("\n").some((l) => l.split(" ")[0] === m)) evidence.push(`${m}: loaded (/proc/modules)`);
    else if (builtin?.split("\n").some((l) => l.endsWith(`/${m}.ko`)))
      evidence.push(`${m}: built in (modules.builtin)`);
    else if (feature && typeof content === "string" && (!feature.line || content.split(/\s+/).includes(feature.line)))
      evidence.push(`${m}: in the kernel (${feature.present})`);
    else if (!feature && loaded === null && builtin == null) unknown.push(m);
    else missing.push(m);
  }
  if (loaded === null && evidence.length > 0) evidence.push("no /proc/modules: the kernel cannot load modules");
  for (const m of missing) evidence.push(`${m}: not loaded${FEATURE[m] ? ` (${FEATURE[m]?.absent})` : ""}`);
  for (const m of unknown) evidence.push(`${m}: cannot tell (no /proc/modules, no modules.builtin)`);
  const persisted = file(ev, rendered.path);
  if (missing.length > 0)
    return {
      verdict: "fail",
      evidence,
      fix: `modprobe ${missing.join(" && modprobe ")}, and list them in ${rendered.path} so they load at boot (kubelab up does both); without br_netfilter the bridge-nf sysctls do not exist and kubeadm's preflight fails`,
    };
  if (unknown.length > 0)
    return {
      verdict: "warn",
      evidence,
      fix: `check that the kernel has ${unknown.join(", ")} (kube-proxy ipvs mode needs them)`,
    };
  if (persisted === null && loaded !== null)
    return {
      verdict: "warn",
      evidence: [...evidence, `no ${rendered.path}: the modules are not loaded at the next boot`],
      fix: `write ${rendered.path} (kubelab up does)`,
    };
  return { verdict: "pass", evidence };
}

/** key -> value of a rendered sysctl.d file. */
function sysctlSettings(content: string): [string, string][] {
  return content
    .split("\n")
    .filter((l) => l.includes("=") && !l.trimStart().startsWith("#"))
    .map((l) => l.split("=").map((p) => p.trim()) as [string, string]);
}

function sysctls(ev: NodeEvidence, plan: Plan): NodeFinding {
  const rendered = renderSysctl(plan);
  const evidence: string[] = [];
  const wrong: [string, string][] = [];
  for (const [key, want] of sysctlSettings(rendered.content)) {
    const value = file(ev, sysctlPath(key));
    if (value === undefined) return notRead(ev, sysctlPath(key));
    if (value === null) {
      evidence.push(
        `${key}: ${sysctlPath(key)} does not exist${key.startsWith("net.bridge.") ? " (br_netfilter is not loaded)" : ""}`,
      );
      wrong.push([key, want]);
    } else {
      evidence.push(`${key} = ${value.trim()}${value.trim() === want ? "" : ` (kubelab sets ${want})`}`);
      if (value.trim() !== want) wrong.push([key, want]);
    }
  }
  if (wrong.length > 0)
    return {
      verdict: "fail",
      evidence,
      fix: `${wrong.some(([k]) => k.startsWith("net.bridge.")) ? "modprobe br_netfilter, then " : ""}sysctl -w ${wrong.map(([k, v]) => `${k}=${v}`).join(" ")}, and keep them in ${rendered.path} (kubelab up writes it and applies it with sysctl -p)`,
    };
  if (file(ev, rendered.path) === null)
    return {
      verdict: "warn",
      evidence: [...evidence, `no ${rendered.path}: the values are lost at the next boot`],
      fix: `write ${rendered.path} (kubelab up does)`,
    };
  return { verdict: "pass", evidence };
}

// --- names: /etc/hosts, the resolver, the hostname -------------------------------------------

interface HostsEntry {
  readonly line: number;
  readonly address: string;
  readonly names: readonly string[];
  readonly text: string;
}

function hostsEntries(text: string): HostsEntry[] {
  return text.split("\n").flatMap((raw, i) => {
    const body = raw.split("#")[0] ?? "";
    const [address, ...names] = body.trim().split(/\s+/);
    return address && names.length > 0 ? [{ line: i + 1, address, names, text: raw.trim() }] : [];
  });
}

const quote = (e: HostsEntry) => `/etc/hosts:${e.line} ${e.text}`;
const named = (entries: readonly HostsEntry[], name: string) =>
  entries.filter((e) => e.names.some((n) => n.toLowerCase() === name.toLowerCase()));
const isLoopback = (a: string) => a === "::1" || a.startsWith("127.");

function hostsLocalhost(ev: NodeEvidence, plan: Plan): NodeFinding {
  const hosts = file(ev, NODE_FILES.hosts);
  if (hosts === undefined) return notRead(ev, NODE_FILES.hosts);
  const entries = hostsEntries(hosts ?? "");
  const evidence: string[] = [];
  const fixes: string[] = [];
  const localhost = named(entries, "localhost").find((e) => e.address === "127.0.0.1");
  if (localhost) evidence.push(quote(localhost));
  else {
    evidence.push(hosts === null ? "no /etc/hosts" : "/etc/hosts has no `127.0.0.1 localhost` line");
    fixes.push("put `127.0.0.1 localhost` back as the first line of /etc/hosts");
  }
  for (const n of plan.nodes) {
    const lines = named(entries, n.name);
    const v4 = lines.filter((e) => parseIpv4(e.address) !== undefined);
    const first = v4[0];
    const others = lines.filter((e) => e.address !== n.ip);
    if (!first) {
      evidence.push(`${n.name} is not in /etc/hosts (the plan gives it ${n.ip})`);
      fixes.push(`add \`${n.ip} ${n.name}\``);
    } else if (first.address !== n.ip || others.length > 0) {
      evidence.push(
        first.address !== n.ip
          ? `${n.name} resolves to ${first.address} first, the plan gives it ${n.ip}`
          : `${n.name} -> ${n.ip}, and also to ${others.map((e) => e.address).join(", ")}`,
        ...others.map((e) => `  ${quote(e)}`),
      );
      fixes.push(`map ${n.name} to ${n.ip} only (drop it from ${others.map((e) => `line ${e.line}`).join(", ")})`);
    } else evidence.push(`${n.name} -> ${n.ip} (${quote(first)})`);
  }
  if (fixes.length === 0) return { verdict: "pass", evidence };
  return {
    verdict: "fail",
    evidence,
    fix: `${fixes.join("; ")}. kubelab up rewrites its block in /etc/hosts and removes stale mappings (Vagrant's 127.0.1.1 <name>)`,
  };
}

/** nameserver lines of a resolv.conf. */
const nameservers = (text: string | null | undefined) =>
  (text ?? "").split("\n").flatMap((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1] ?? []);

/**
 * The resolv.conf pods on the host network use: kubelet's resolvConf. kubeadm sets it to
 * systemd-resolved's upstream file when /etc/resolv.conf points at the 127.0.0.53 stub.
 */
function podResolvConf(ev: NodeEvidence): { path: string; servers: string[] } {
  const kubelet = at(safeYaml(file(ev, NODE_FILES.kubeletConfig) ?? ""), "resolvConf");
  const etc = { path: NODE_FILES.resolvConf, servers: nameservers(file(ev, NODE_FILES.resolvConf)) };
  const resolved = {
    path: NODE_FILES.resolvedResolvConf,
    servers: nameservers(file(ev, NODE_FILES.resolvedResolvConf)),
  };
  if (kubelet === NODE_FILES.resolvedResolvConf) return resolved;
  if (kubelet === undefined && etc.servers.every((s) => s === "127.0.0.53") && resolved.servers.length > 0)
    return resolved;
  return etc;
}

function resolverLocalhost(ev: NodeEvidence): NodeFinding {
  const r = ev.commands[NODE_COMMANDS.localhost];
  const hosts = file(ev, NODE_FILES.hosts);
  if (!r) return notRead(ev, NODE_COMMANDS.localhost);
  if (hosts === undefined) return notRead(ev, NODE_FILES.hosts);
  const answers = [
    ...new Set(
      r.stdout
        .split("\n")
        .map((l) => l.trim().split(/\s+/)[0] ?? "")
        .filter(Boolean),
    ),
  ];
  const local = r.code === 0 && answers.length > 0 && answers.every(isLoopback);
  const entry = named(hostsEntries(hosts ?? ""), "localhost").find((e) => isLoopback(e.address));
  const nsswitch = file(ev, NODE_FILES.nsswitch);
  const hostsLine = /^\s*hosts:\s*(.*)$/m.exec(nsswitch ?? "")?.[1]?.trim() ?? "files dns";
  const sources = hostsLine
    .replace(/\[[^\]]*\]/g, " ")
    .split(/\s+/)
    .filter(Boolean);
  const filesFirst =
    sources.includes("files") && (!sources.includes("dns") || sources.indexOf("files") < sources.indexOf("dns"));
  const pods = podResolvConf(ev);
  const servers =
    pods.servers.length > 0 ? pods.servers.map((s) => `${s}:53`).join(", ") : "127.0.0.1:53 (resolv.conf names none)";
  const evidence = [
    r.code === 0
      ? `\`${NODE_COMMANDS.localhost}\` answers ${answers.join(", ")}`
      : r.code === 2
        ? `\`${NODE_COMMANDS.localhost}\` finds nothing (exit 2)`
        : failed(NODE_COMMANDS.localhost, r),
    entry ? quote(entry) : "/etc/hosts has no localhost entry",
    `${NODE_FILES.nsswitch}: hosts: ${nsswitch === null ? "(no file; files dns)" : hostsLine}`,
  ];
  if (local && entry && filesFirst) return { verdict: "pass", evidence };
  if (!local && r.code === 0)
    evidence.push(`localhost resolves to ${answers.filter((a) => !isLoopback(a)).join(", ")}, not loopback`);
  if (!entry || !filesFirst)
    evidence.push(
      `so localhost is asked of the DNS server: ${servers} (${pods.path}); calico-node's Felix then fails \`lookup localhost on ${pods.servers[0] ?? "127.0.0.1"}:53\``,
    );
  const fixes = [
    ...(!entry || !local ? ["put `127.0.0.1 localhost` at the top of /etc/hosts (kubelab up does)"] : []),
    ...(!filesFirst ? [`list files before dns on the hosts line of ${NODE_FILES.nsswitch}`] : []),
  ];
  return {
    verdict: "fail",
    evidence,
    fix: `${fixes.join("; ")}; kubelab renders FELIX_HEALTHHOST=127.0.0.1 into calico-node so its health endpoint does not need the name`,
  };
}

function hostname(ev: NodeEvidence, node: PlanNode): NodeFinding {
  const name = file(ev, NODE_FILES.hostname);
  if (name === undefined) return notRead(ev, NODE_FILES.hostname);
  const got = (name ?? "").trim();
  if (got === node.name) return { verdict: "pass", evidence: [`hostname ${got}`] };
  return {
    verdict: "warn",
    evidence: [`hostname ${got || "(none)"}, the plan names the node ${node.name}`],
    fix: `hostnamectl set-hostname ${node.name} (kubelab up sets it); other nodes and logs know it by its plan name`,
  };
}

// --- clocks -----------------------------------------------------------------------------------

const MAX_SKEW_MS = 30_000;

/** The node clock minus this host's, in ms; a string when it could not be read. */
function clockOffset(ev: NodeEvidence): number | string {
  const r = ev.commands[NODE_COMMANDS.clock];
  if (!r) return `\`${NODE_COMMANDS.clock}\` was not run`;
  if (r.code !== 0) return failed(NODE_COMMANDS.clock, r);
  const out = r.stdout.trim();
  if (!/^\d+$/.test(out)) return `\`${NODE_COMMANDS.clock}\` printed ${JSON.stringify(out)}`;
  if (ev.hostTimeMs === undefined) return "this host's time at the read was not recorded";
  const nodeMs = out.length <= 10 ? Number(out) * 1000 : Number(out); // a date without %N prints seconds
  return nodeMs - ev.hostTimeMs;
}

const seconds = (ms: number) => `${(Math.abs(ms) / 1000).toFixed(1)} s`;
const relative = (ms: number, other: string) =>
  Math.abs(ms) < 50 ? `in step with ${other} (${ms} ms)` : `${seconds(ms)} ${ms > 0 ? "ahead of" : "behind"} ${other}`;

function clockSkew(e: Evidence, plan: Plan): Finding[] {
  const offsets = new Map(
    plan.nodes.flatMap((n) =>
      e.nodes?.[n.name] ? [[n.name, clockOffset(e.nodes[n.name] as NodeEvidence)] as const] : [],
    ),
  );
  const inStep = [...offsets].filter(
    (o): o is [string, number] => typeof o[1] === "number" && Math.abs(o[1]) <= MAX_SKEW_MS,
  );
  const fix =
    "turn on time sync on the node (timedatectl set-ntp true: systemd-timesyncd or chrony); certificates, tokens and etcd need clocks within 30 s";
  return perNode(e, plan, (n) => {
    const offset = offsets.get(n.name);
    if (typeof offset !== "number")
      return { verdict: "warn", evidence: [`clock not read: ${offset}`], fix: "collect the evidence again" };
    const evidence = [`node clock ${relative(offset, "this host")}`];
    if (Math.abs(offset) > MAX_SKEW_MS)
      return { verdict: "fail", evidence: [...evidence, "more than 30 s off this host's clock"], fix };
    // Nodes within 30 s of the host can still be up to 60 s apart from each other.
    const apart = inStep.filter(([other, o]) => other !== n.name && Math.abs(offset - o) > MAX_SKEW_MS);
    if (apart.length > 0)
      return {
        verdict: "fail",
        evidence: [...evidence, ...apart.map(([other, o]) => relative(offset - o, other))],
        fix,
      };
    return { verdict: "pass", evidence };
  });
}

// --- node-ip ------------------------------------------------------------------------------------

/** The last --node-ip among the arguments in an environment file's variable. */
function nodeIpFlag(text: string | null | undefined, variable: string): { ip: string; line: string } | undefined {
  let found: { ip: string; line: string } | undefined;
  for (const line of (text ?? "").split("\n")) {
    const m = new RegExp(`^\\s*${variable}=(.*)$`).exec(line);
    if (!m) continue;
    const args = (m[1] ?? "").replace(/^(["'])(.*)\1$/, "$2").split(/\s+/);
    args.forEach((a, i) => {
      const ip = a.startsWith("--node-ip=") ? a.slice(10) : a === "--node-ip" ? args[i + 1] : undefined;
      if (ip) found = { ip, line: line.trim() };
    });
  }
  return found;
}

function nodeIp(ev: NodeEvidence, node: PlanNode, plan: Plan): NodeFinding {
  const defaults = file(ev, NODE_FILES.kubeletDefaults);
  const flags = file(ev, NODE_FILES.kubeadmFlags);
  if (defaults === undefined) return notRead(ev, NODE_FILES.kubeletDefaults);
  // kubelet's unit runs `kubelet ... $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS`: the last flag wins.
  const fromKubeadm = nodeIpFlag(flags, "KUBELET_KUBEADM_ARGS");
  const fromDefaults = nodeIpFlag(defaults, "KUBELET_EXTRA_ARGS");
  const set = fromDefaults
    ? { ...fromDefaults, path: NODE_FILES.kubeletDefaults }
    : fromKubeadm && { ...fromKubeadm, path: NODE_FILES.kubeadmFlags };
  const fix = `set KUBELET_EXTRA_ARGS=--node-ip=${node.ip} in ${NODE_FILES.kubeletDefaults} and restart kubelet (kubelab up writes it)`;
  const interfaces = nodeInterfaces(ev);
  const holders = (ip: string) =>
    (interfaces ?? []).filter((i) => i.addresses.some((a) => a.address === ip)).map((i) => i.name);
  const nat = (interfaces ?? []).flatMap((i) =>
    i.addresses.filter((a) => a.address.startsWith("10.0.2.")).map((a) => `${i.name} has ${a.address}/${a.prefix}`),
  );
  if (!set)
    return {
      verdict: "fail",
      evidence: [
        `no --node-ip in ${NODE_FILES.kubeletDefaults}${flags ? ` or ${NODE_FILES.kubeadmFlags}` : ""}: kubelet registers its default-route address`,
        ...nat.map((n) => `${n} (VirtualBox NAT: the same on every node)`),
      ],
      fix,
    };
  const ip = set.ip.split(",").find((a) => parseIpv4(a) !== undefined) ?? set.ip;
  const evidence = [`${set.path}: ${set.line}`];
  if (fromDefaults && fromKubeadm && fromKubeadm.ip !== fromDefaults.ip)
    evidence.push(`(overrides ${NODE_FILES.kubeadmFlags}: ${fromKubeadm.line})`);
  const problems: string[] = [];
  if (ip.startsWith("10.0.2."))
    problems.push(`${ip} is VirtualBox's NAT address (10.0.2.0/24), the same on every node`);
  else if (!containsAddress(plan.network.block, ip))
    problems.push(`${ip} is outside the lab network ${plan.network.cidr}`);
  if (ip !== node.ip) problems.push(`the plan gives ${node.name} ${node.ip}`);
  if (problems.length > 0) return { verdict: "fail", evidence: [...evidence, ...problems], fix };
  if (!interfaces)
    return {
      verdict: "warn",
      evidence: [
        ...evidence,
        `cannot tell whether an interface has ${ip}: ${failed(NODE_COMMANDS.addresses, ev.commands[NODE_COMMANDS.addresses] ?? { code: -1, stdout: "", stderr: "not run" })}`,
      ],
      fix: "collect the evidence again",
    };
  const on = holders(ip);
  if (on.length === 0)
    return {
      verdict: "fail",
      evidence: [
        ...evidence,
        `no interface has ${ip} (kubelet: "failed to validate nodeIP: node IP ${ip} not found in the host's network interfaces")`,
        ...interfaces.flatMap((i) =>
          i.addresses
            .filter((a) => a.family === "inet" && !isLoopback(a.address))
            .map((a) => `${i.name} has ${a.address}/${a.prefix}`),
        ),
      ],
      fix: `give the node's lab NIC ${ip}/${plan.network.prefix} (the VirtualBox host-only adapter, or the nspawn bridge), then restart kubelet`,
    };
  return { verdict: "pass", evidence: [...evidence, `${on.join(", ")} has ${ip}, in ${plan.network.cidr}`] };
}

// --- node addresses as the API has them ---------------------------------------------------------

/** A Node's InternalIP addresses (what its kubelet registered). */
function internalIps(node: unknown): string[] {
  return objects(node, "status", "addresses")
    .filter((a) => a.type === "InternalIP")
    .flatMap((a) => str(a, "address") ?? []);
}

const describeAddresses = (node: unknown) =>
  `status.addresses: ${
    objects(node, "status", "addresses")
      .map((a) => `${String(a.type)}=${String(a.address)}`)
      .join(", ") || "(none)"
  }`;

/** api.node-addresses: the InternalIP each kubelet registered, as the API has it. */
const nodeAddresses: Check = {
  id: "api.node-addresses",
  title: "every node's InternalIP is its own lab-network address (not the NAT address)",
  needs: ["api"],
  references: ["k0sproject/k0sctl#172", "alexellis/k3sup#306"],
  run(e, plan) {
    const nodes = items(e, API_KEYS.node);
    const lab = plan.network.block;
    const dup = heldByMany(nodes.flatMap((n) => internalIps(n).map((ip) => [nameOf(n), ip] as const)));
    const findings: Finding[] = nodes.map((n) => {
      const name = nameOf(n);
      const ips = internalIps(n);
      const planned = plan.nodes.find((p) => p.name === name);
      const problems = [
        ips.length === 0 && "no InternalIP",
        ...ips
          .filter((ip) => inRange(NAT, ip))
          .map((ip) => `InternalIP ${ip} is in VirtualBox's NAT network 10.0.2.0/24`),
        ...ips
          .filter((ip) => dup.has(ip))
          .map(
            (ip) =>
              `InternalIP ${ip} is also the InternalIP of ${(dup.get(ip) ?? []).filter((x) => x !== name).join(", ")}`,
          ),
        ...ips
          .filter((ip) => !inRange(lab, ip) && !inRange(NAT, ip))
          .map((ip) => `InternalIP ${ip} is outside the lab network ${plan.network.cidr}`),
        planned && !ips.includes(planned.ip) && `the plan's node-ip for ${name} is ${planned.ip}`,
      ].filter((p): p is string => typeof p === "string");
      if (problems.length === 0)
        return {
          verdict: "pass",
          subject: name,
          evidence: [`InternalIP ${ips.join(", ")} in ${plan.network.cidr}${planned ? " (the plan's node-ip)" : ""}`],
        };
      const want = planned?.ip ?? `its ${plan.network.cidr} address`;
      return {
        verdict: "fail",
        subject: name,
        evidence: [describeAddresses(n), ...problems],
        fix: `give the kubelet its lab address: KUBELET_EXTRA_ARGS=--node-ip=${want} in /etc/default/kubelet (kubelab up writes it), then systemctl restart kubelet on ${name}`,
      };
    });
    for (const p of plan.nodes)
      if (!nodes.some((n) => nameOf(n) === p.name))
        findings.push({
          verdict: "warn",
          subject: p.name,
          evidence: [`no Node ${p.name} in the API (the plan has it at ${p.ip})`],
          fix: `run kubelab up, or look at the kubelet on ${p.name}: journalctl -u kubelet`,
        });
    return findings;
  },
};

// --- the checks ---------------------------------------------------------------------------------

const simple =
  (fn: (ev: NodeEvidence, node: PlanNode, plan: Plan) => NodeFinding) =>
  (e: Evidence, plan: Plan): Finding[] =>
    perNode(e, plan, (n, ev) => fn(ev, n, plan));

export const nodeChecks: readonly Check[] = [
  {
    id: "node.cgroup-driver",
    title: "containerd (runc SystemdCgroup) and kubelet use the same cgroup driver",
    needs: ["nodes"],
    references: ["kubernetes/kubernetes#110177", "containerd/containerd#4203", "kubernetes/kubeadm#2449"],
    run: simple((ev, _n, plan) => cgroupDriver(ev, plan)),
  },
  {
    id: "node.swap",
    title: "swap is off (kubelet's failSwapOn)",
    needs: ["nodes"],
    references: ["https://kubernetes.io/docs/concepts/cluster-administration/swap-memory-management/"],
    run: simple((ev) => swap(ev)),
  },
  {
    id: "node.modules",
    title: "the kernel modules kubelab loads are in the kernel (overlay, br_netfilter, IPVS for ipvs mode)",
    needs: ["nodes"],
    references: [
      "https://kubernetes.io/docs/setup/production-environment/container-runtimes/#prerequisite-ipv4-forwarding-optional",
    ],
    run: simple((ev, _n, plan) => modules(ev, plan)),
  },
  {
    id: "node.sysctls",
    title: "forwarding and bridge netfilter sysctls are as kubelab sets them",
    needs: ["nodes"],
    references: [
      "https://kubernetes.io/docs/setup/production-environment/container-runtimes/#prerequisite-ipv4-forwarding-optional",
    ],
    run: simple((ev, _n, plan) => sysctls(ev, plan)),
  },
  {
    id: "node.hosts-localhost",
    title: "/etc/hosts has 127.0.0.1 localhost and every node by name at its lab address",
    needs: ["nodes"],
    references: ["projectcalico/calico#6963"],
    run: simple((ev, _n, plan) => hostsLocalhost(ev, plan)),
  },
  {
    id: "node.resolver-localhost",
    title: "localhost resolves to loopback on the node, never through a DNS server",
    needs: ["nodes"],
    references: ["projectcalico/calico#6963", "projectcalico/node#1360"],
    run: simple((ev) => resolverLocalhost(ev)),
  },
  {
    id: "node.clock-skew",
    title: "node clocks within 30 s of this host and of each other",
    needs: ["nodes"],
    references: ["k0sproject/k0sctl (validate hosts: clock skew)"],
    run: clockSkew,
  },
  {
    id: "node.node-ip",
    title: "kubelet's --node-ip is the node's lab address, and the node has it",
    needs: ["nodes"],
    references: ["k0sproject/k0sctl#172", "alexellis/k3sup#306"],
    run: simple((ev, n, plan) => nodeIp(ev, n, plan)),
  },
  {
    id: "node.hostname",
    title: "each node's hostname is its name in the cluster file",
    needs: ["nodes"],
    references: [],
    run: simple((ev, n) => hostname(ev, n)),
  },
];

/** The nodes' checks that read the API rather than the nodes themselves. */
export const nodeApiChecks: readonly Check[] = [nodeAddresses, nodeReady];
