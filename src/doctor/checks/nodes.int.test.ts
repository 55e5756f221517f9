// The node checks on evidence made of real things (test/helpers/node-evidence.ts): the files
// kubelab renders for the default lab, containerd's own `config dump` of them, glibc's answer
// for localhost over those files, `ip -j addr` of real interfaces, `date`. Each check passes on
// the lab as kubelab prepares it and fails on one node changed the way real labs break.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { parse } from "yaml";
import * as labApi from "../../../test/helpers/doctor-api.js";
import { planOf } from "../../../test/helpers/fixtures.js";
import {
  clockRead,
  command,
  containerdDump,
  getentLocalhost,
  ipAddr,
  type Kernel,
  kubeletConfigYaml,
  type Link,
  preparedNode,
  type ResolverFiles,
  requireNamespaces,
} from "../../../test/helpers/node-evidence.js";
import { startSshd } from "../../../test/helpers/sshd.js";
import { requireTool } from "../../../test/helpers/tools.js";
import { DEFAULT_CLUSTER_YAML } from "../../config/default-cluster.js";
import type { Plan } from "../../plan/types.js";
import { connect } from "../../remote/ssh.js";
import { CONTAINERD_CONFIG_PATH } from "../../render/containerd.js";
import { PLAIN_NODE } from "../../render/node-environment.js";
import { renderModulesLoad, renderNodeFiles, renderSysctl } from "../../render/node-files.js";
import { COLLECTED_FILES, collectNode, NODE_COMMANDS, NODE_FILES, nodeMacs, sysctlPath } from "../nodes.js";
import { formatResults, runChecks } from "../run.js";
import type { CheckResult, Evidence, NodeEvidence } from "../types.js";
import { nodeChecks } from "./nodes.js";

const RAW = parse(DEFAULT_CLUSTER_YAML) as Record<string, unknown>;

const PLAN = planOf(RAW);

/** Plans made from the default file with one setting changed, and their files. */
const RAW_BY_PLAN = new Map<Plan, unknown>();
function variant(edit: (raw: Record<string, unknown>) => void): Plan {
  const raw = structuredClone(RAW);
  edit(raw);
  const plan = planOf(raw);
  RAW_BY_PLAN.set(plan, raw);
  return plan;
}

const evidenceOf = (nodes: Record<string, NodeEvidence>, file: unknown = RAW): Evidence => ({
  format: "kubelab.dev/doctor-evidence/v1",
  collectedAt: new Date().toISOString(),
  file,
  nodes,
  unavailable: {},
});

/** Ubuntu with systemd-resolved: the stub in /etc/resolv.conf, the NAT network's server upstream (8.8.8.8). */
const STUB_RESOLV_CONF = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n";
const UPSTREAM_RESOLV_CONF =
  "# This is /run/systemd/resolve/resolv.conf managed by man:systemd-resolved(8).\nnameserver 8.8.8.8\n";
const NSSWITCH = "passwd: files systemd\ngroup: files systemd\nhosts: files dns\nnetworks: files\n";

/** Vagrant gives every VM of a box the same NAT NIC MAC; the host-only NICs differ. */
const NAT_MAC = "08:00:27:8a:3c:5e";
const LAB_MACS: Record<string, string> = {
  "master-1": "08:00:27:96:6b:0b",
  "worker-1": "08:00:27:1f:44:a2",
  "worker-2": "08:00:27:c3:08:7d",
};

const renderedFile = (plan: Plan, node: string, path: string) =>
  renderNodeFiles(plan, node, PLAIN_NODE).find((f) => f.path === path)?.content ?? "";

/** How one node differs from the lab kubelab prepares. */
interface NodeChange {
  readonly containerdConfig?: string;
  readonly hosts?: string;
  readonly nsswitch?: string;
  readonly skewMs?: number;
  readonly links?: readonly Link[];
  readonly files?: Record<string, string | null>;
  readonly containerd?: { code: number; stdout: string; stderr: string };
}

/** Vagrant's two NICs: NAT (10.0.2.15 on every VM) and host-only with the node's lab address. */
const vagrantLinks = (node: string, ip: string): Link[] => [
  { name: "enp0s3", mac: NAT_MAC, addresses: ["10.0.2.15/24"] },
  { name: "enp0s8", mac: LAB_MACS[node] ?? "08:00:27:00:00:01", addresses: [`${ip}/24`] },
];

interface Lab {
  readonly containerd2: string;
  evidence(changes?: Record<string, NodeChange>, opts?: { plan?: Plan; kernel?: Kernel }): Promise<Evidence>;
}

/** lab returns a builder of the default lab's evidence, or undefined (skipped) without the real tools. */
function lab(t: TestContext): Lab | undefined {
  const containerd2 = requireTool(t, "containerd2");
  if (!containerd2 || !requireNamespaces(t)) return undefined;
  const dumps = new Map<string, Promise<{ code: number; stdout: string; stderr: string }>>();
  const dump = (content: string) => {
    if (!dumps.has(content)) dumps.set(content, containerdDump(containerd2, content));
    return dumps.get(content) as Promise<{ code: number; stdout: string; stderr: string }>;
  };
  return {
    containerd2,
    async evidence(changes = {}, opts = {}) {
      const plan = opts.plan ?? PLAN;
      const nodes: Record<string, NodeEvidence> = {};
      for (const n of plan.nodes) {
        const c = changes[n.name] ?? {};
        const resolver: ResolverFiles = {
          hosts: c.hosts ?? renderedFile(plan, n.name, NODE_FILES.hosts),
          resolvConf: STUB_RESOLV_CONF,
          nsswitch: c.nsswitch ?? NSSWITCH,
        };
        nodes[n.name] = preparedNode(plan, n.name, {
          containerd:
            c.containerd ?? (await dump(c.containerdConfig ?? renderedFile(plan, n.name, CONTAINERD_CONFIG_PATH))),
          localhost: await getentLocalhost(resolver),
          addresses: await ipAddr(c.links ?? vagrantLinks(n.name, n.ip)),
          clock: await clockRead(c.skewMs ?? 0),
          resolver,
          kernel: opts.kernel ?? "modules",
          files: { [NODE_FILES.resolvedResolvConf]: UPSTREAM_RESOLV_CONF, ...c.files },
        });
      }
      return evidenceOf(nodes, RAW_BY_PLAN.get(plan) ?? RAW);
    },
  };
}

/** Runs the node checks; the results, and a dump of them for assertion messages. */
function check(evidence: Evidence): { results: CheckResult[]; text: string } {
  const results = runChecks(evidence, nodeChecks);
  return { results, text: formatResults(results, { verbose: true }) };
}

/** Verdict of one check per node. */
function verdicts(results: readonly CheckResult[], id: string): Record<string, string> {
  const r = results.find((x) => x.id === id);
  assert.ok(r, `no result for ${id}`);
  return Object.fromEntries(r.findings.map((f) => [f.subject ?? "", f.verdict]));
}

/** The finding of one check for one node. */
function finding(results: readonly CheckResult[], id: string, node: string) {
  const f = results.find((x) => x.id === id)?.findings.find((x) => x.subject === node);
  assert.ok(f, `no ${id} finding for ${node}`);
  return { ...f, text: `${f.evidence.join("\n")}\nfix: ${f.fix ?? ""}` };
}

/** Asserts `id` fails on `node` only, and every other node passes it. */
function failsOnlyOn(results: readonly CheckResult[], id: string, node: string, text: string): void {
  const expected = Object.fromEntries(PLAN.nodes.map((n) => [n.name, n.name === node ? "fail" : "pass"]));
  assert.deepEqual(verdicts(results, id), expected, text);
}

/** Asserts every node check passes on every node. */
function allPass(results: readonly CheckResult[], text: string): void {
  for (const r of results) assert.equal(r.verdict, "pass", `${r.id}\n${text}`);
  for (const r of results) assert.equal(r.findings.length, PLAN.nodes.length, `${r.id}: one finding per node`);
}

test("every node check passes on the lab as kubelab prepares it (VM kernel with modules, and nspawn's built-in kernel)", async (t) => {
  const l = lab(t);
  if (!l) return;
  for (const kernel of ["modules", "built-in"] as const) {
    const { results, text } = check(await l.evidence({}, { kernel }));
    allPass(results, text);
    assert.deepEqual(
      results.map((r) => r.id),
      nodeChecks.map((c) => c.id),
    );
  }
  const { results } = check(await l.evidence());
  assert.match(finding(results, "node.cgroup-driver", "worker-1").text, /SystemdCgroup = true/);
  assert.match(
    finding(results, "node.resolver-localhost", "master-1").text,
    /answers (::1, 127\.0\.0\.1|127\.0\.0\.1, ::1)/,
  );
  assert.match(
    finding(results, "node.node-ip", "worker-2").text,
    /enp0s8 has 192\.168\.56\.13, in 192\.168\.56\.0\/24/,
  );
});

test("node.cgroup-driver fails where containerd runs its default config or a config edited to SystemdCgroup = false", async (t) => {
  const l = lab(t);
  if (!l) return;
  const defaults = await command(l.containerd2, ["config", "default"]);
  assert.equal(defaults.code, 0, defaults.stderr);
  const rendered = renderedFile(PLAN, "worker-1", CONTAINERD_CONFIG_PATH);
  const sedded = rendered.replace("SystemdCgroup = true", "SystemdCgroup = false");
  assert.notEqual(sedded, rendered);
  // "": no settings at all, containerd's built-in runc options (its dump says SystemdCgroup = false).
  for (const containerdConfig of [defaults.stdout, sedded, ""]) {
    const { results, text } = check(await l.evidence({ "worker-1": { containerdConfig } }));
    failsOnlyOn(results, "node.cgroup-driver", "worker-1", text);
    const f = finding(results, "node.cgroup-driver", "worker-1");
    assert.match(
      f.text,
      /\[plugins\.'io\.containerd\.cri\.v1\.runtime'\.containerd\.runtimes\.runc\.options\] SystemdCgroup = false/,
    );
    assert.match(f.text, /kubelet: \/var\/lib\/kubelet\/config\.yaml cgroupDriver: systemd/);
    assert.match(f.fix ?? "", /set SystemdCgroup = true under \[plugins\.'io\.containerd\.cri\.v1\.runtime'/);
    // The other checks of that node are unaffected.
    for (const r of results.filter((x) => x.id !== "node.cgroup-driver"))
      assert.equal(r.verdict, "pass", `${r.id}\n${text}`);
  }
});

test("node.cgroup-driver fails on kubelet's side (config.yaml without cgroupDriver: kubelet's cgroupfs default) and when containerd is missing", async (t) => {
  const l = lab(t);
  if (!l) return;
  const kubelet = kubeletConfigYaml(PLAN).replace(/^cgroupDriver: systemd\n/m, "");
  assert.doesNotMatch(kubelet, /cgroupDriver/);
  let { results, text } = check(await l.evidence({ "master-1": { files: { [NODE_FILES.kubeletConfig]: kubelet } } }));
  failsOnlyOn(results, "node.cgroup-driver", "master-1", text);
  const f = finding(results, "node.cgroup-driver", "master-1");
  assert.match(f.text, /has no cgroupDriver \(kubelet's default: cgroupfs\)/);
  assert.match(f.fix ?? "", /set cgroupDriver: systemd in \/var\/lib\/kubelet\/config\.yaml/);

  const missing = await command("sh", ["-c", "PATH=/nonexistent; containerd config dump"]);
  assert.equal(missing.code, 127);
  ({ results, text } = check(await l.evidence({ "worker-2": { containerd: missing } })));
  failsOnlyOn(results, "node.cgroup-driver", "worker-2", text);
  assert.match(
    finding(results, "node.cgroup-driver", "worker-2").text,
    /exited 127: .*not found[\s\S]*fix: containerd is not installed/,
  );
});

test("node.cgroup-driver before kubeadm ran: kubelet's driver from kubelab's init file, or the plan on joining nodes", async (t) => {
  const l = lab(t);
  if (!l) return;
  const none = { files: { [NODE_FILES.kubeletConfig]: null } };
  const sedded = renderedFile(PLAN, "worker-1", CONTAINERD_CONFIG_PATH).replace(
    "SystemdCgroup = true",
    "SystemdCgroup = false",
  );
  const { results, text } = check(
    await l.evidence({ "master-1": none, "worker-1": { ...none, containerdConfig: sedded }, "worker-2": none }),
  );
  failsOnlyOn(results, "node.cgroup-driver", "worker-1", text);
  assert.match(
    finding(results, "node.cgroup-driver", "master-1").text,
    /kubeadm-init\.yaml gives it cgroupDriver: systemd/,
  );
  assert.match(
    finding(results, "node.cgroup-driver", "worker-1").text,
    /it will get cgroupDriver: systemd \(containerd\.cgroupDriver/,
  );
});

test("node.cgroup-driver reads the config version 2 layout (containerd 1.x's own dump)", async (t) => {
  const l = lab(t);
  const containerd1 = requireTool(t, "containerd1");
  if (!l || !containerd1) return;
  const plan = variant((raw) => {
    (raw.containerd as Record<string, unknown>).version = "1.7";
  });
  assert.equal(plan.containerd.configVersion, 2);
  const rendered = renderedFile(plan, "worker-1", CONTAINERD_CONFIG_PATH);
  const defaults = await command(containerd1, ["config", "default"]);
  const dump = (content: string) => containerdDump(containerd1, content);
  const changes = async (content: string) =>
    Object.fromEntries(
      await Promise.all(plan.nodes.map(async (n) => [n.name, { containerd: await dump(content) }] as const)),
    );
  let { results, text } = check(await l.evidence(await changes(rendered), { plan }));
  assert.deepEqual(
    verdicts(results, "node.cgroup-driver"),
    { "master-1": "pass", "worker-1": "pass", "worker-2": "pass" },
    text,
  );
  assert.match(
    finding(results, "node.cgroup-driver", "worker-1").text,
    /version 2\): \[plugins\.'io\.containerd\.grpc\.v1\.cri'.*SystemdCgroup = true/,
  );
  const broken = { ...(await changes(rendered)), "worker-1": { containerd: await dump(defaults.stdout) } };
  ({ results, text } = check(await l.evidence(broken, { plan })));
  failsOnlyOn(results, "node.cgroup-driver", "worker-1", text);
  assert.match(
    finding(results, "node.cgroup-driver", "worker-1").fix ?? "",
    /\[plugins\."io\.containerd\.grpc\.v1\.cri"/,
  );
});

test("node.swap fails while /proc/swaps lists swap (warns when kubelet allows it)", async (t) => {
  const l = lab(t);
  if (!l) return;
  const header = readFileSync("/proc/swaps", "utf8").split("\n")[0];
  const swaps = `${header}\n/swap.img                               file\t\t2097148\t\t0\t\t-2\n`;
  let { results, text } = check(await l.evidence({ "worker-2": { files: { [NODE_FILES.swaps]: swaps } } }));
  failsOnlyOn(results, "node.swap", "worker-2", text);
  const f = finding(results, "node.swap", "worker-2");
  assert.match(f.text, /\/proc\/swaps: \/swap\.img file 2097148 0 -2/);
  assert.match(f.fix ?? "", /swapoff -a.*\/etc\/fstab/);
  const allowed = `${kubeletConfigYaml(PLAN)}failSwapOn: false\n`;
  ({ results, text } = check(
    await l.evidence({ "worker-2": { files: { [NODE_FILES.swaps]: swaps, [NODE_FILES.kubeletConfig]: allowed } } }),
  ));
  assert.equal(verdicts(results, "node.swap")["worker-2"], "warn", text);
});

test("node.modules and node.sysctls fail without br_netfilter (its sysctls vanish with it)", async (t) => {
  const l = lab(t);
  if (!l) return;
  const base = (await l.evidence()).nodes?.["worker-1"] as NodeEvidence;
  const modules = (base.files[NODE_FILES.modules] ?? "")
    .split("\n")
    .filter((line) => !/^(br_netfilter|bridge) /.test(line))
    .join("\n");
  const files = {
    [NODE_FILES.modules]: modules,
    [sysctlPath("net.bridge.bridge-nf-call-iptables")]: null,
    [sysctlPath("net.bridge.bridge-nf-call-ip6tables")]: null,
    [renderModulesLoad(PLAN).path]: null,
  };
  const { results, text } = check(await l.evidence({ "worker-1": { files } }));
  failsOnlyOn(results, "node.modules", "worker-1", text);
  failsOnlyOn(results, "node.sysctls", "worker-1", text);
  assert.match(
    finding(results, "node.modules", "worker-1").text,
    /overlay: loaded[\s\S]*br_netfilter: not loaded[\s\S]*fix: modprobe br_netfilter/,
  );
  assert.match(
    finding(results, "node.sysctls", "worker-1").text,
    /net\.bridge\.bridge-nf-call-iptables: \/proc\/sys\/net\/bridge\/bridge-nf-call-iptables does not exist \(br_netfilter is not loaded\)/,
  );
});

test("node.modules in ipvs mode wants the IPVS modules kube-proxy checks at start", async (t) => {
  const l = lab(t);
  if (!l) return;
  const plan = variant((raw) => {
    Object.assign(raw.kubernetes as Record<string, unknown>, { proxyMode: "ipvs", strictARP: true });
  });
  let { results, text } = check(await l.evidence({}, { plan }));
  assert.deepEqual(
    verdicts(results, "node.modules"),
    { "master-1": "pass", "worker-1": "pass", "worker-2": "pass" },
    text,
  );
  assert.match(finding(results, "node.modules", "master-1").text, /ip_vs_rr: loaded \(\/proc\/modules\)/);
  const base = (await l.evidence({}, { plan })).nodes?.["worker-2"] as NodeEvidence;
  const modules = (base.files[NODE_FILES.modules] ?? "").replace(/^ip_vs_rr .*\n/m, "");
  ({ results, text } = check(await l.evidence({ "worker-2": { files: { [NODE_FILES.modules]: modules } } }, { plan })));
  failsOnlyOn(results, "node.modules", "worker-2", text);
  assert.match(
    finding(results, "node.modules", "worker-2").text,
    /ip_vs_rr: not loaded\n[\s\S]*fix: modprobe ip_vs_rr,/,
  );
});

test("node.sysctls fails on a fresh box's ip_forward = 0; warns when the sysctl file is gone", async (t) => {
  const l = lab(t);
  if (!l) return;
  let { results, text } = check(
    await l.evidence({ "master-1": { files: { [sysctlPath("net.ipv4.ip_forward")]: "0\n" } } }),
  );
  failsOnlyOn(results, "node.sysctls", "master-1", text);
  const f = finding(results, "node.sysctls", "master-1");
  assert.match(f.text, /net\.ipv4\.ip_forward = 0 \(kubelab sets 1\)/);
  assert.match(f.fix ?? "", /^sysctl -w net\.ipv4\.ip_forward=1, and keep them in \/etc\/sysctl\.d\/99-kubelab\.conf/);
  ({ results, text } = check(await l.evidence({ "master-1": { files: { [renderSysctl(PLAN).path]: null } } })));
  assert.equal(verdicts(results, "node.sysctls")["master-1"], "warn", text);
});

test("node.hosts-localhost fails without 127.0.0.1 localhost, and where nodes miss each other by name", async (t) => {
  const l = lab(t);
  if (!l) return;
  const hosts = renderedFile(PLAN, "worker-1", NODE_FILES.hosts);
  const noLocalhost = hosts.replace("127.0.0.1 localhost\n", "");
  let { results, text } = check(await l.evidence({ "worker-1": { hosts: noLocalhost } }));
  failsOnlyOn(results, "node.hosts-localhost", "worker-1", text);
  assert.match(finding(results, "node.hosts-localhost", "worker-1").text, /no `127\.0\.0\.1 localhost` line/);

  // The block is right, but a stale mapping follows it (getent ahosts would return both).
  ({ results, text } = check(await l.evidence({ "worker-1": { hosts: `${hosts}127.0.1.1 worker-1\n` } })));
  failsOnlyOn(results, "node.hosts-localhost", "worker-1", text);
  assert.match(
    finding(results, "node.hosts-localhost", "worker-1").text,
    /worker-1 -> 192\.168\.56\.12, and also to 127\.0\.1\.1\n {2}\/etc\/hosts:9 127\.0\.1\.1 worker-1/,
  );

  // A Vagrant box's own file: its name on 127.0.1.1, no entries for the other nodes.
  const vagrant = "127.0.0.1 localhost\n127.0.1.1 worker-2 worker-2\n::1 localhost ip6-localhost ip6-loopback\n";
  ({ results, text } = check(await l.evidence({ "worker-2": { hosts: vagrant } })));
  failsOnlyOn(results, "node.hosts-localhost", "worker-2", text);
  const f = finding(results, "node.hosts-localhost", "worker-2");
  assert.match(f.text, /master-1 is not in \/etc\/hosts \(the plan gives it 192\.168\.56\.11\)/);
  assert.match(
    f.text,
    /worker-2 resolves to 127\.0\.1\.1 first, the plan gives it 192\.168\.56\.13\n {2}\/etc\/hosts:2 127\.0\.1\.1 worker-2 worker-2/,
  );
  assert.match(
    f.fix ?? "",
    /add `192\.168\.56\.11 master-1`.*map worker-2 to 192\.168\.56\.13 only \(drop it from line 2\)/,
  );
});

test("node.resolver-localhost fails with no localhost in /etc/hosts, so it is asked of 8.8.8.8", async (t) => {
  const l = lab(t);
  if (!l) return;
  const hosts = renderedFile(PLAN, "master-1", NODE_FILES.hosts)
    .split("\n")
    .filter((line) => !/\blocalhost\b/.test(line))
    .join("\n");
  let { results, text } = check(await l.evidence({ "master-1": { hosts } }));
  failsOnlyOn(results, "node.resolver-localhost", "master-1", text);
  failsOnlyOn(results, "node.hosts-localhost", "master-1", text);
  const f = finding(results, "node.resolver-localhost", "master-1");
  assert.match(f.text, /`getent ahosts localhost` finds nothing \(exit 2\)/);
  assert.match(
    f.text,
    /asked of the DNS server: 8\.8\.8\.8:53 \(\/run\/systemd\/resolve\/resolv\.conf\).*`lookup localhost on 8\.8\.8\.8:53`/,
  );
  assert.match(f.fix ?? "", /127\.0\.0\.1 localhost/);

  // DNS before files: glibc still finds localhost (the DNS query fails), but names go to the server first.
  ({ results, text } = check(await l.evidence({ "worker-2": { nsswitch: "hosts: dns files\n" } })));
  failsOnlyOn(results, "node.resolver-localhost", "worker-2", text);
  const g = finding(results, "node.resolver-localhost", "worker-2");
  assert.match(g.text, /answers .*127\.0\.0\.1/);
  assert.match(g.fix ?? "", /list files before dns/);
});

test("node.clock-skew fails for a node 90 s behind, and for two nodes 40 s apart", async (t) => {
  const l = lab(t);
  if (!l) return;
  let { results, text } = check(await l.evidence({ "worker-2": { skewMs: -90_000 } }));
  failsOnlyOn(results, "node.clock-skew", "worker-2", text);
  assert.match(
    finding(results, "node.clock-skew", "worker-2").text,
    /node clock 9\d\.\d s behind this host\nmore than 30 s off this host's clock\nfix: turn on time sync/,
  );
  ({ results, text } = check(await l.evidence({ "master-1": { skewMs: 20_000 }, "worker-1": { skewMs: -20_000 } })));
  assert.deepEqual(
    verdicts(results, "node.clock-skew"),
    { "master-1": "fail", "worker-1": "fail", "worker-2": "pass" },
    text,
  );
  assert.match(finding(results, "node.clock-skew", "master-1").text, /4\d\.\d s ahead of worker-1/);
});

test("node.node-ip fails without --node-ip (NAT 10.0.2.15), with the NAT address, and when no interface has it", async (t) => {
  const l = lab(t);
  if (!l) return;
  let { results, text } = check(await l.evidence({ "worker-1": { files: { [NODE_FILES.kubeletDefaults]: null } } }));
  failsOnlyOn(results, "node.node-ip", "worker-1", text);
  assert.match(
    finding(results, "node.node-ip", "worker-1").text,
    /no --node-ip[\s\S]*enp0s3 has 10\.0\.2\.15\/24 \(VirtualBox NAT/,
  );

  const nat = { [NODE_FILES.kubeletDefaults]: "KUBELET_EXTRA_ARGS=--node-ip=10.0.2.15\n" };
  ({ results, text } = check(await l.evidence({ "worker-1": { files: nat } })));
  failsOnlyOn(results, "node.node-ip", "worker-1", text);
  const f = finding(results, "node.node-ip", "worker-1");
  assert.match(f.text, /10\.0\.2\.15 is VirtualBox's NAT address/);
  assert.equal(
    f.fix,
    "set KUBELET_EXTRA_ARGS=--node-ip=192.168.56.12 in /etc/default/kubelet and restart kubelet (kubelab up writes it)",
  );

  // The host-only adapter came up without its address.
  const links: Link[] = [
    { name: "enp0s3", mac: NAT_MAC, addresses: ["10.0.2.15/24"] },
    { name: "enp0s8", mac: "08:00:27:1f:44:a2", addresses: [] },
  ];
  ({ results, text } = check(await l.evidence({ "worker-1": { links } })));
  failsOnlyOn(results, "node.node-ip", "worker-1", text);
  assert.match(
    finding(results, "node.node-ip", "worker-1").text,
    /no interface has 192\.168\.56\.12 \(kubelet: "failed to validate nodeIP/,
  );

  // A clone of master-1: its address on the NIC and in kubelet's flags, not the plan's for worker-1.
  const clone = {
    links: vagrantLinks("worker-1", "192.168.56.11"),
    files: { [NODE_FILES.kubeletDefaults]: "KUBELET_EXTRA_ARGS=--node-ip=192.168.56.11\n" },
  };
  ({ results, text } = check(await l.evidence({ "worker-1": clone })));
  failsOnlyOn(results, "node.node-ip", "worker-1", text);
  assert.match(finding(results, "node.node-ip", "worker-1").text, /the plan gives worker-1 192\.168\.56\.12/);

  // kubeadm's flags file repeats it: still the one address.
  const flags = {
    [NODE_FILES.kubeadmFlags]:
      'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock --node-ip=192.168.56.12 --pod-infra-container-image=registry.k8s.io/pause:3.10.2"\n',
  };
  ({ results, text } = check(await l.evidence({ "worker-1": { files: flags } })));
  assert.equal(verdicts(results, "node.node-ip")["worker-1"], "pass", text);
});

test("node.hostname warns where the hostname is not the node's name", async (t) => {
  const l = lab(t);
  if (!l) return;
  const { results, text } = check(await l.evidence({ "worker-2": { files: { [NODE_FILES.hostname]: "vagrant\n" } } }));
  assert.deepEqual(
    verdicts(results, "node.hostname"),
    { "master-1": "pass", "worker-1": "pass", "worker-2": "warn" },
    text,
  );
  assert.match(finding(results, "node.hostname", "worker-2").fix ?? "", /hostnamectl set-hostname worker-2/);
});

test("node checks warn for a node nothing was collected from, and are skipped without node evidence", async (t) => {
  const l = lab(t);
  if (!l) return;
  const e = await l.evidence();
  const { "worker-2": _, ...rest } = e.nodes ?? {};
  const { results, text } = check({ ...e, nodes: rest });
  for (const r of results) assert.equal(verdicts(results, r.id)["worker-2"], "warn", `${r.id}\n${text}`);
  const none = runChecks({ ...e, nodes: undefined, unavailable: { nodes: "ssh: connection refused" } }, nodeChecks);
  assert.ok(none.every((r) => r.verdict === "skip" && r.skipped === "nodes: ssh: connection refused"));
});

test("nodeMacs names each node's own MACs; a MAC on several nodes (Vagrant's NAT NIC) names none", async (t) => {
  const l = lab(t);
  if (!l) return;
  const macs = nodeMacs((await l.evidence()).nodes ?? {});
  assert.deepEqual(Object.fromEntries(macs), {
    "08:00:27:96:6b:0b": "master-1",
    "08:00:27:1f:44:a2": "worker-1",
    "08:00:27:c3:08:7d": "worker-2",
  });
  const upper = await ipAddr([{ name: "eth1", mac: "0A:58:0A:F4:00:01", addresses: ["10.244.0.1/24"] }]);
  assert.equal(
    nodeMacs({ x: { files: {}, commands: { [NODE_COMMANDS.addresses]: upper } } }).get("0a:58:0a:f4:00:01"),
    "x",
  );
});

test("collectNode reads this host over SSH: every file (null when missing) and command", async (t) => {
  const sshd = await startSshd(t);
  if (!sshd) return;
  const dir = await mkdtemp(join(tmpdir(), "kubelab-collect-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const remote = await connect("this-host", sshd.endpoint(), {
    knownHostsFile: join(dir, "known_hosts"),
    hostKeyPolicy: "trust-on-first-use",
    connectTimeoutMs: 10_000,
  });
  t.after(() => remote.close());
  const ev = await collectNode(remote);
  for (const path of COLLECTED_FILES) {
    let want: string | null;
    try {
      want = readFileSync(path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") continue; // unreadable here: the script said so
      want = null;
    }
    // /proc files that change by themselves are compared for presence only.
    if (want !== null && /^\/proc\/(swaps|modules|sys\/net\/netfilter)/.test(path))
      assert.equal(typeof ev.files[path], "string", path);
    else assert.equal(ev.files[path], want, path);
  }
  assert.equal(ev.files[NODE_FILES.hosts], readFileSync("/etc/hosts", "utf8"));
  for (const path of [renderModulesLoad(PLAN).path, renderSysctl(PLAN).path, "/etc/default/kubelet", "/etc/hosts"])
    assert.ok(COLLECTED_FILES.includes(path), `${path} is written by kubelab and must be collected`);
  // A node collected as a worker: etcd is asked on control planes only.
  const etcd: string[] = [NODE_COMMANDS.etcdMembers, NODE_COMMANDS.etcdHealth];
  assert.deepEqual(
    Object.keys(ev.commands).sort(),
    Object.values(NODE_COMMANDS)
      .filter((k) => !etcd.includes(k))
      .sort(),
  );
  const date = ev.commands[NODE_COMMANDS.clock];
  assert.equal(date?.code, 0);
  assert.match(date?.stdout ?? "", /^\d{13}\n$/);
  assert.equal(typeof ev.hostTimeMs, "number");
  const ip = ev.commands[NODE_COMMANDS.addresses];
  assert.equal(ip?.code, 0, ip?.stderr);
  assert.ok(Array.isArray(JSON.parse(ip?.stdout ?? "")));
  const getent = await command("getent", ["ahosts", "localhost"]);
  assert.equal(ev.commands[NODE_COMMANDS.localhost]?.stdout, getent.stdout);
  // containerd: whatever this host has, its result is kept as it came.
  const dump = ev.commands[NODE_COMMANDS.containerdConfig];
  assert.equal(typeof dump?.code, "number");
  if (dump?.code !== 0) assert.notEqual(dump?.stderr, "");
});

test("api.node-addresses on a real API server: each known failure named from its Nodes, and passing once fixed", async (t) => {
  const server = await labApi.startLabApi(t);
  if (!server) return;
  const { kc, api } = server;
  const { doctor, finding, NODES, nodeStatus, result, text } = labApi;
  await t.test("api.node-addresses: every node on the NAT address (10.0.2.15) fails; lab addresses pass", async () => {
    for (const n of NODES) await api.status(`/api/v1/nodes/${n.name}`, nodeStatus(n.name, "10.0.2.15"));
    const broken = result((await doctor(kc)).results, "api.node-addresses");
    assert.equal(broken.verdict, "fail");
    for (const n of NODES) {
      const f = finding(broken, n.name);
      assert.equal(f.verdict, "fail");
      assert.match(text(f), /status\.addresses: InternalIP=10\.0\.2\.15, Hostname=/);
      assert.match(text(f), /InternalIP 10\.0\.2\.15 is in VirtualBox's NAT network 10\.0\.2\.0\/24/);
      assert.match(text(f), /is also the InternalIP of/);
      assert.match(text(f), new RegExp(`the plan's node-ip for ${n.name} is ${n.ip.replaceAll(".", "\\.")}`));
      assert.match(f.fix ?? "", new RegExp(`--node-ip=${n.ip.replaceAll(".", "\\.")} in /etc/default/kubelet`));
    }

    // One node right, the others still sharing the NAT address.
    await api.status("/api/v1/nodes/master-1", nodeStatus("master-1", "192.168.56.11"));
    const mixed = result((await doctor(kc)).results, "api.node-addresses");
    assert.equal(finding(mixed, "master-1").verdict, "pass");
    assert.match(text(finding(mixed, "worker-1")), /also the InternalIP of worker-2/);

    for (const n of NODES) await api.status(`/api/v1/nodes/${n.name}`, nodeStatus(n.name, n.ip));
    const fixed = result((await doctor(kc)).results, "api.node-addresses");
    assert.equal(fixed.verdict, "pass", JSON.stringify(fixed.findings));
    assert.deepEqual(
      fixed.findings.map((f) => `${f.subject}: ${f.evidence[0]}`),
      NODES.map((n) => `${n.name}: InternalIP ${n.ip} in 192.168.56.0/24 (the plan's node-ip)`),
    );
  });
});
