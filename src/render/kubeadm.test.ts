import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";
import { firstControlPlane } from "../plan/control-plane.js";
import { loadCluster } from "../plan/load-cluster.js";
import type { Plan } from "../plan/types.js";
import { validateCluster } from "../plan/validate.js";
import { joinConfiguration, kubeadmJoinDocument, renderKubeadmInit, renderKubeadmJoin } from "./kubeadm.js";

type Doc = Record<string, any>;

async function defaultPlan(): Promise<Plan> {
  const r = await loadCluster(undefined);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.plan;
}

async function haPlan(): Promise<Plan> {
  const file = fileURLToPath(new URL("../../test/fixtures/render/ipvs-17/lab.yaml", import.meta.url));
  const r = validateCluster(parse(await readFile(file, "utf8")));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.plan;
}

/**
 * Reads YAML the way kubeadm does: sigs.k8s.io/yaml follows YAML 1.1, where `no`/`on`/`yes`
 * are booleans. A value that survives this parse as a string survives kubeadm.
 */
function docs(content: string): Doc[] {
  return parseAllDocuments(content, { version: "1.1" }).map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJS() as Doc;
  });
}

const byKind = (all: Doc[], kind: string): Doc => {
  const d = all.find((x) => x.kind === kind);
  assert.ok(d, `no ${kind}`);
  return d;
};

const SECRETS = {
  token: "abcdef.0123456789abcdef",
  caCertHash: `sha256:${"ab".repeat(32)}`,
  certificateKey: "c0ffee".repeat(10) + "abcd",
};

test("init: v1beta4 documents in order, advertise address and node-ip are the first control plane's lab IP", async () => {
  const plan = await defaultPlan();
  const f = renderKubeadmInit(plan);
  assert.equal(f.path, "/etc/kubernetes/kubeadm/kubeadm-init.yaml");
  const all = docs(f.content);
  assert.deepEqual(
    all.map((d) => `${d.apiVersion} ${d.kind}`),
    [
      "kubeadm.k8s.io/v1beta4 InitConfiguration",
      "kubeadm.k8s.io/v1beta4 ClusterConfiguration",
      "kubelet.config.k8s.io/v1beta1 KubeletConfiguration",
      "kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration",
    ],
  );
  const init = byKind(all, "InitConfiguration");
  assert.deepEqual(init.localAPIEndpoint, { advertiseAddress: "192.168.56.11", bindPort: 6443 });
  assert.deepEqual(init.nodeRegistration, {
    name: "master-1",
    criSocket: "unix:///run/containerd/containerd.sock",
    kubeletExtraArgs: [{ name: "node-ip", value: "192.168.56.11" }],
  });
  const cluster = byKind(all, "ClusterConfiguration");
  assert.equal(cluster.clusterName, "lab");
  assert.equal(cluster.kubernetesVersion, plan.kubernetes.version);
  assert.equal(cluster.controlPlaneEndpoint, "192.168.56.11:6443");
  assert.deepEqual(cluster.networking, {
    podSubnet: "192.168.112.0/20",
    serviceSubnet: "10.96.0.0/12",
    dnsDomain: "cluster.local",
  });
  assert.deepEqual(byKind(all, "KubeProxyConfiguration").ipvs, { strictARP: false });
  assert.equal(byKind(all, "KubeProxyConfiguration").mode, "iptables");
  assert.doesNotMatch(f.content, /10\.0\.2\.15|token/);
});

test("init: certSANs cover every control plane, the endpoint host and loopback, once each", async () => {
  const plan = await haPlan();
  const sans = byKind(docs(renderKubeadmInit(plan).content), "ClusterConfiguration").apiServer.certSANs as string[];
  const cps = plan.nodes.filter((n) => n.role === "control-plane");
  for (const want of [...cps.flatMap((n) => [n.ip, n.name]), "192.168.56.10", "127.0.0.1", "localhost"])
    assert.ok(sans.includes(want), want);
  assert.equal(new Set(sans).size, sans.length);
  assert.ok(!sans.includes("worker-1"));
  // The default plan's endpoint is the first control plane itself: no duplicate SAN.
  const def = byKind(docs(renderKubeadmInit(await defaultPlan()).content), "ClusterConfiguration").apiServer.certSANs;
  assert.deepEqual(def, ["192.168.56.11", "master-1", "127.0.0.1", "localhost"]);
});

test("init: ipvs with strictARP; nspawn and cgroup v1 host options", async () => {
  const plan = await haPlan();
  const all = docs(renderKubeadmInit(plan).content);
  assert.deepEqual(byKind(all, "KubeProxyConfiguration").ipvs, { strictARP: true });
  assert.equal(byKind(all, "KubeProxyConfiguration").mode, "ipvs");
  assert.equal(byKind(all, "KubeletConfiguration").failCgroupV1, undefined);
  assert.equal(byKind(all, "KubeProxyConfiguration").conntrack, undefined);
  const nspawn = docs(renderKubeadmInit(plan, { container: true, cgroupV1: true }).content);
  assert.equal(byKind(nspawn, "KubeletConfiguration").failCgroupV1, false);
  assert.deepEqual(byKind(nspawn, "KubeProxyConfiguration").conntrack, { maxPerCore: 0 });
});

test("an endpoint without a port gets :6443 (join discovery needs host:port)", async () => {
  const plan = await haPlan();
  const p: Plan = { ...plan, kubernetes: { ...plan.kubernetes, controlPlaneEndpoint: "api.lab.internal" } };
  const cluster = byKind(docs(renderKubeadmInit(p).content), "ClusterConfiguration");
  assert.equal(cluster.controlPlaneEndpoint, "api.lab.internal:6443");
  assert.ok(cluster.apiServer.certSANs.includes("api.lab.internal"));
  assert.equal(
    (joinConfiguration(p, "worker-1") as Doc).discovery.bootstrapToken.apiServerEndpoint,
    "api.lab.internal:6443",
  );
});

test("join: the rendered file carries no secrets; workers have no controlPlane section", async () => {
  const plan = await haPlan();
  const worker = renderKubeadmJoin(plan, "worker-1");
  assert.equal(worker.path, "/etc/kubernetes/kubeadm/kubeadm-join.yaml");
  const [join] = docs(worker.content);
  assert.deepEqual(join, {
    apiVersion: "kubeadm.k8s.io/v1beta4",
    kind: "JoinConfiguration",
    nodeRegistration: {
      name: "worker-1",
      criSocket: "unix:///run/containerd/containerd.sock",
      kubeletExtraArgs: [{ name: "node-ip", value: "192.168.56.14" }],
    },
    discovery: { bootstrapToken: { apiServerEndpoint: "192.168.56.10:6443" } },
  });
  const cp = docs(renderKubeadmJoin(plan, "master-2").content)[0];
  assert.deepEqual(cp?.controlPlane, { localAPIEndpoint: { advertiseAddress: "192.168.56.12", bindPort: 6443 } });
  for (const f of [worker, renderKubeadmJoin(plan, "master-2")]) assert.match(f.content, /^# .*left out on purpose/m);
});

test("join: with secrets the document is complete (stdin only)", async () => {
  const plan = await haPlan();
  const w = docs(kubeadmJoinDocument(plan, "worker-1", SECRETS))[0];
  assert.deepEqual(w?.discovery.bootstrapToken, {
    apiServerEndpoint: "192.168.56.10:6443",
    token: SECRETS.token,
    caCertHashes: [SECRETS.caCertHash],
  });
  assert.equal(w?.controlPlane, undefined);
  const cp = joinConfiguration(plan, "master-3", SECRETS) as Doc;
  assert.equal(cp.controlPlane.certificateKey, SECRETS.certificateKey);
  assert.equal(cp.controlPlane.localAPIEndpoint.advertiseAddress, "192.168.56.13");
});

test("join: bad inputs fail early and never echo a secret", async () => {
  const plan = await haPlan();
  const secretFree = (fn: () => unknown, re: RegExp) =>
    assert.throws(
      fn,
      (e: Error) => re.test(e.message) && !e.message.includes("0123456789abcdef") && !e.message.includes("c0ffee"),
    );
  secretFree(
    () => joinConfiguration(plan, "worker-1", { ...SECRETS, token: "0123456789abcdef" }),
    /malformed bootstrap token/,
  );
  secretFree(() => joinConfiguration(plan, "worker-1", { ...SECRETS, caCertHash: "abc" }), /sha256/);
  secretFree(
    () => joinConfiguration(plan, "master-2", { token: SECRETS.token, caCertHash: SECRETS.caCertHash }),
    /certificate key/,
  );
  assert.throws(() => renderKubeadmJoin(plan, firstControlPlane(plan).name), /runs kubeadm init/);
  assert.throws(() => renderKubeadmJoin(plan, "ghost"), /ghost is not in cluster ha/);
});

test("YAML 1.1 words in names stay strings for kubeadm (a cluster named `no`, a node named `on`)", async () => {
  const plan = await defaultPlan();
  const nodes = plan.nodes.map((n, i) => (i === 0 ? { ...n, name: "on" } : i === 1 ? { ...n, name: "yes" } : n));
  const p: Plan = { ...plan, name: "no", nodes };
  const all = docs(renderKubeadmInit(p).content);
  assert.equal(byKind(all, "InitConfiguration").nodeRegistration.name, "on");
  assert.equal(byKind(all, "ClusterConfiguration").clusterName, "no");
  assert.ok(byKind(all, "ClusterConfiguration").apiServer.certSANs.includes("on"));
  assert.equal(docs(renderKubeadmJoin(p, "yes").content)[0]?.nodeRegistration.name, "yes");
});

test("one control plane and no workers: registered without the NoSchedule taint; with workers, kubeadm's default", async () => {
  const withWorkers = await defaultPlan();
  assert.equal(withWorkers.kubernetes.controlPlaneRunsPods, false);
  const tainted = byKind(docs(renderKubeadmInit(withWorkers).content), "InitConfiguration");
  assert.equal(tainted.nodeRegistration.taints, undefined, "absent: kubeadm adds the control-plane taint");
  const alone: Plan = {
    ...withWorkers,
    nodes: withWorkers.nodes.filter((n) => n.role === "control-plane"),
    kubernetes: { ...withWorkers.kubernetes, controlPlaneRunsPods: true },
  };
  const init = byKind(docs(renderKubeadmInit(alone).content), "InitConfiguration");
  assert.deepEqual(init.nodeRegistration.taints, [], "an empty list, which kubeadm leaves empty");
});
