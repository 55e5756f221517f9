import assert from "node:assert/strict";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { loadCluster } from "../plan/load-cluster.js";
import type { Plan } from "../plan/types.js";
import { validateCluster } from "../plan/validate.js";
import { type NodeEnvironment, PLAIN_NODE } from "./node-environment.js";
import { mergeHosts, renderHostsBlock, renderModulesLoad, renderNodeFiles, renderSysctl } from "./node-files.js";

/**
 * Golden files (kind style): every file renderNodeFiles produces for every node of a case,
 * at test/fixtures/render/<case>/expected/<node>/<absolute path>. Regenerate with
 * `UPDATE_GOLDEN=1 npx tsx --test src/render/node-files.test.ts` and review the diff.
 */
const FIXTURES = fileURLToPath(new URL("../../test/fixtures/render/", import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === "1";
const CASES = ["default", "ipvs-17", "vip"] as const;

async function casePlan(name: (typeof CASES)[number]): Promise<Plan> {
  const r =
    name === "default"
      ? await loadCluster(undefined)
      : validateCluster(parse(await readFile(join(FIXTURES, name, "lab.yaml"), "utf8")), { file: `${name}/lab.yaml` });
  if (!r.ok) throw new Error(`${name}: ${JSON.stringify(r.errors)}`);
  return r.plan;
}

async function defaultPlan(): Promise<Plan> {
  return casePlan("default");
}

/** Every file under dir, as paths relative to it. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

for (const name of CASES) {
  test(`golden: node files of the ${name} case`, async (t) => {
    const plan = await casePlan(name);
    const expectedDir = join(FIXTURES, name, "expected");
    const rendered = new Map<string, string>();
    for (const node of plan.nodes) {
      for (const f of renderNodeFiles(plan, node.name, PLAIN_NODE))
        rendered.set(join(node.name, f.path.slice(1)), f.content);
    }
    if (UPDATE) {
      await rm(expectedDir, { recursive: true, force: true });
      for (const [rel, content] of rendered) {
        await mkdir(dirname(join(expectedDir, rel)), { recursive: true });
        await writeFile(join(expectedDir, rel), content);
      }
      t.diagnostic(`wrote ${rendered.size} golden files to ${expectedDir}`);
      return;
    }
    // A file no longer rendered (or a new one not yet recorded) must show up as a failure too.
    assert.deepEqual(
      await listFiles(expectedDir),
      [...rendered.keys()].sort(),
      "set of rendered files (UPDATE_GOLDEN=1 to accept)",
    );
    for (const [rel, content] of rendered) {
      assert.equal(
        content,
        await readFile(join(expectedDir, rel), "utf8"),
        `${rel} differs (UPDATE_GOLDEN=1 to accept)`,
      );
    }
  });
}

test("modules: overlay and br_netfilter always, IPVS modules only for ipvs", async () => {
  const plan = await defaultPlan();
  const lines = (p: Plan) =>
    renderModulesLoad(p)
      .content.split("\n")
      .filter((l) => l && !l.startsWith("#"));
  assert.deepEqual(lines(plan), ["overlay", "br_netfilter"]);
  const ipvs = { ...plan, kubernetes: { ...plan.kubernetes, proxyMode: "ipvs" as const } };
  assert.deepEqual(lines(ipvs), [
    "overlay",
    "br_netfilter",
    "ip_vs",
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_sh",
    "nf_conntrack",
  ]);
  assert.equal(renderModulesLoad(plan).path, "/etc/modules-load.d/kubelab.conf");
});

test("sysctl: bridge netfilter and forwarding", async () => {
  const f = renderSysctl(await defaultPlan());
  assert.equal(f.path, "/etc/sysctl.d/99-kubelab.conf");
  for (const s of [
    "net.bridge.bridge-nf-call-iptables = 1",
    "net.bridge.bridge-nf-call-ip6tables = 1",
    "net.ipv4.ip_forward = 1",
  ]) {
    assert.ok(f.content.split("\n").includes(s), s);
  }
});

test("hosts block lists every node as `ip name` between the markers", async () => {
  const plan = await defaultPlan();
  assert.equal(
    renderHostsBlock(plan),
    "# BEGIN kubelab lab\n192.168.56.11 master-1\n192.168.56.12 worker-1\n192.168.56.13 worker-2\n# END kubelab lab",
  );
});

/** /etc/hosts as Vagrant leaves it on an Ubuntu box, with the node name on loopback. */
const VAGRANT_HOSTS = `127.0.0.1\tlocalhost
127.0.1.1\tmaster-1\tmaster-1
127.0.2.1 master-1 master-1

# The following lines are desirable for IPv6 capable hosts
::1     ip6-localhost ip6-loopback
fe00::0 ip6-localnet
`;

test("hosts merge: removes other addresses for node names, keeps the rest, appends the block", async () => {
  const plan = await defaultPlan();
  const merged = mergeHosts(VAGRANT_HOSTS, plan);
  assert.equal(
    merged,
    `127.0.0.1\tlocalhost

# The following lines are desirable for IPv6 capable hosts
::1     ip6-localhost ip6-loopback
fe00::0 ip6-localnet

${renderHostsBlock(plan)}
`,
  );
  assert.doesNotMatch(merged, /^127\.0\.[12]\.1/m);
});

test("hosts merge: strips only the node name from a shared line, and keeps its comment", async () => {
  const plan = await defaultPlan();
  const merged = mergeHosts("127.0.0.1 localhost master-1 # vagrant\n10.0.2.15 worker-1 nat-alias\n", plan);
  assert.match(merged, /^127\.0\.0\.1 localhost # vagrant$/m);
  assert.match(merged, /^10\.0\.2\.15 nat-alias$/m);
  assert.doesNotMatch(merged.split("# BEGIN")[0] ?? "", /master-1|worker-1/);
});

test("hosts merge: adds 127.0.0.1 localhost at the top when missing (calico#6963)", async () => {
  const plan = await defaultPlan();
  for (const input of ["", "::1 localhost\n", "10.1.1.1 gateway\n", "127.0.0.1 other\n"]) {
    const merged = mergeHosts(input, plan);
    assert.ok(merged.startsWith("127.0.0.1 localhost\n"), JSON.stringify(merged));
  }
  // An existing entry (any whitespace, aliases) is enough and is left alone.
  assert.ok(
    mergeHosts("127.0.0.1\tlocalhost.localdomain localhost\n", plan).startsWith(
      "127.0.0.1\tlocalhost.localdomain localhost\n",
    ),
  );
});

test("hosts merge: replaces a stale block in place and drops duplicate blocks", async () => {
  const plan = await defaultPlan();
  const stale = [
    "127.0.0.1 localhost",
    "# BEGIN kubelab lab",
    "192.168.56.99 master-1",
    "192.168.56.98 old-node",
    "# END kubelab lab",
    "10.1.1.1 gateway",
    "# BEGIN kubelab lab",
    "192.168.56.97 worker-9",
    "# END kubelab lab",
    "",
  ].join("\n");
  assert.equal(mergeHosts(stale, plan), `127.0.0.1 localhost\n${renderHostsBlock(plan)}\n10.1.1.1 gateway\n`);
});

test("hosts merge: another cluster's block and a BEGIN without END keep the user's lines", async () => {
  const plan = await defaultPlan();
  const other = "127.0.0.1 localhost\n# BEGIN kubelab other\n10.9.9.9 other-1\n# END kubelab other\n";
  assert.equal(mergeHosts(other, plan), `${other}\n${renderHostsBlock(plan)}\n`);
  const broken = "127.0.0.1 localhost\n# BEGIN kubelab lab\n10.1.1.1 gateway\n";
  assert.equal(mergeHosts(broken, plan), `127.0.0.1 localhost\n${renderHostsBlock(plan)}\n10.1.1.1 gateway\n`);
});

test("hosts merge is idempotent", async () => {
  const plan = await defaultPlan();
  const inputs = [
    "",
    "127.0.0.1 localhost",
    VAGRANT_HOSTS,
    "10.1.1.1 gateway\n\n\n",
    "127.0.0.1 localhost master-1\n# BEGIN kubelab lab\n1.2.3.4 x\n",
    `# END kubelab lab\n${VAGRANT_HOSTS}# BEGIN kubelab lab\n# END kubelab lab\n`,
  ];
  for (const input of inputs) {
    const once = mergeHosts(input, plan);
    assert.equal(mergeHosts(once, plan), once, JSON.stringify(input));
    assert.equal(once.split(renderHostsBlock(plan)).length, 2, "exactly one block");
  }
});

test("node files: kubelet node-ip is the lab address, never the NAT 10.0.2.15", async () => {
  const plan = await casePlan("ipvs-17");
  for (const node of plan.nodes) {
    const files = renderNodeFiles(plan, node.name, PLAIN_NODE);
    const kubelet = files.find((f) => f.path === "/etc/default/kubelet");
    assert.equal(kubelet?.content, `KUBELET_EXTRA_ARGS=--node-ip=${node.ip}\n`);
    const kubeadm = files.find((f) => f.path.startsWith("/etc/kubernetes/kubeadm/"));
    assert.ok(kubeadm?.content.includes(`name: node-ip\n      value: ${node.ip}\n`), kubeadm?.content);
    for (const f of files) assert.doesNotMatch(f.content, /10\.0\.2\.15/, f.path);
  }
});

test("node files: init on the first control plane only, join everywhere else", async () => {
  const plan = await casePlan("ipvs-17");
  const kubeadmPaths = plan.nodes.map((n) =>
    renderNodeFiles(plan, n.name, PLAIN_NODE)
      .filter((f) => f.path.includes("kubeadm"))
      .map((f) => f.path),
  );
  assert.deepEqual(kubeadmPaths, [
    ["/etc/kubernetes/kubeadm/kubeadm-init.yaml"],
    ...Array.from({ length: plan.nodes.length - 1 }, () => ["/etc/kubernetes/kubeadm/kubeadm-join.yaml"]),
  ]);
  assert.throws(() => renderNodeFiles(plan, "nope", PLAIN_NODE), /node nope is not in cluster ha/);
});

test("node files: container nodes get restrict_oom_score_adj and conntrack maxPerCore 0, cgroup v1 failCgroupV1 false", async () => {
  const plan = await defaultPlan();
  const first = (env: NodeEnvironment) =>
    renderNodeFiles(plan, "master-1", env)
      .map((f) => f.content)
      .join("\n");
  const plain = first(PLAIN_NODE);
  assert.doesNotMatch(plain, /restrict_oom_score_adj|maxPerCore|failCgroupV1/);
  const nspawn = first({ container: true, cgroupV1: true });
  assert.match(nspawn, /restrict_oom_score_adj = true/);
  assert.match(nspawn, /conntrack:\n {2}maxPerCore: 0/);
  assert.match(nspawn, /failCgroupV1: false/);
  // The kind of node decides, not the provider the plan names (see the providers' declarations).
  const nspawnPlan: Plan = { ...plan, provider: { name: "nspawn", release: "bookworm" } };
  assert.doesNotMatch(
    renderNodeFiles(nspawnPlan, "worker-1", PLAIN_NODE)
      .map((f) => f.content)
      .join("\n"),
    /restrict_oom_score_adj/,
  );
});
