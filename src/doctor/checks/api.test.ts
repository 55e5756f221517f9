// The API checks against a real kube-apiserver + etcd (test/helpers/apiserver.ts): the pinned
// Calico and MetalLB manifests applied the way kubelab applies them, then the objects a broken
// or a healthy lab has (Nodes, Pods, Services, EndpointSlices, ServiceL2Status, ConfigMaps, the
// Linkerd issuer Secret), with statuses written through the status subresource, since no
// kubelet or controller runs here. Every verdict comes from collectApi's evidence of that API
// server, except the calico-node log lines: no kubelet can serve logs here, so the felix
// scenarios add them to ApiEvidence.logs in the test (felix's real format, see FELIX_LOG).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeConfig } from "@kubernetes/client-node";
import { parse } from "yaml";
import { startApiServer } from "../../../test/helpers/apiserver.js";
import { FIXTURES, readFixture } from "../../../test/helpers/fixtures.js";
import { generateLinkerdIdentity } from "../../addons/linkerd-identity.js";
import { ensureStrictArp } from "../../addons/metallb.js";
import { DEFAULT_CLUSTER_YAML } from "../../config/default-cluster.js";
import { validateCluster } from "../../config/validate.js";
import { applyObjects } from "../../kube/apply.js";
import { kubeConfig, requestRaw, statusMessage } from "../../kube/client.js";
import type { Plan } from "../../plan/types.js";
import { transformCalico } from "../../render/calico.js";
import { parseManifest } from "../../render/manifests.js";
import { metallbObjects } from "../../render/metallb.js";
import type { KubeObject } from "../../render/types.js";
import { API_KEYS, collectApi } from "../api.js";
import { runChecks } from "../run.js";
import type { ApiEvidence, CheckResult, Evidence, Finding } from "../types.js";
import { apiChecks } from "./api.js";

type Obj = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// The API server, written to as raw JSON (what a kubelet or controller would write).

function rest(kc: KubeConfig) {
  const call = async (method: string, path: string, body?: unknown, contentType = "application/json") => {
    const res = await requestRaw(
      kc,
      method,
      path,
      body === undefined ? undefined : { contentType, data: JSON.stringify(body) },
    );
    if (res.status >= 300) throw new Error(`${method} ${path}: ${statusMessage(res.status, res.body)}`);
    return JSON.parse(res.body) as Obj;
  };
  return {
    create: (collection: string, obj: unknown) => call("POST", collection, obj),
    patch: (path: string, body: unknown) => call("PATCH", path, body, "application/merge-patch+json"),
    /** Writes status through the status subresource, as the kubelet / controllers do. */
    status: (path: string, status: unknown) =>
      call("PATCH", `${path}/status`, { status }, "application/merge-patch+json"),
    remove: (path: string) => call("DELETE", path),
  };
}
type Rest = ReturnType<typeof rest>;

const FILE = parse(DEFAULT_CLUSTER_YAML) as Obj;

function planOfFile(file: unknown): Plan {
  const r = validateCluster(file);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.plan;
}

/** Evidence as `kubelab doctor` collects it from the API (plus log lines a test supplies). */
async function doctor(
  kc: KubeConfig,
  opts: { file?: unknown; logs?: Record<string, string>; collectedAt?: Date } = {},
): Promise<{ api: ApiEvidence; results: CheckResult[] }> {
  const file = opts.file ?? FILE;
  const collected = await collectApi(kc, planOfFile(file));
  const api: ApiEvidence = { ...collected, logs: { ...collected.logs, ...opts.logs } };
  const evidence: Evidence = {
    format: "kubelab.dev/doctor-evidence/v1",
    collectedAt: (opts.collectedAt ?? new Date()).toISOString(),
    file,
    api,
    unavailable: {},
  };
  return { api: collected, results: runChecks(evidence, apiChecks) };
}

function result(results: readonly CheckResult[], id: string): CheckResult {
  const r = results.find((x) => x.id === id);
  assert.ok(r, `no result for ${id}`);
  return r;
}

function finding(r: CheckResult, subject: string | RegExp): Finding {
  const f = r.findings.find((x) =>
    typeof subject === "string" ? x.subject === subject : subject.test(x.subject ?? ""),
  );
  assert.ok(f, `${r.id}: no finding about ${subject} in ${JSON.stringify(r.findings, null, 2)}`);
  return f;
}

const text = (f: Finding) => f.evidence.join("\n");

// ---------------------------------------------------------------------------------------------
// Objects a lab has

const NODES = [
  { name: "master-1", ip: "192.168.56.11", control: true },
  { name: "worker-1", ip: "192.168.56.12", control: false },
  { name: "worker-2", ip: "192.168.56.13", control: false },
] as const;

const nodeStatus = (name: string, internalIp: string) => ({
  // What a kubelet reports: its node-ip as InternalIP, its hostname.
  addresses: [
    { type: "InternalIP", address: internalIp },
    { type: "Hostname", address: name },
  ],
  conditions: [
    {
      type: "Ready",
      status: "True",
      reason: "KubeletReady",
      message: "kubelet is posting ready status",
      lastHeartbeatTime: new Date().toISOString(),
      lastTransitionTime: new Date().toISOString(),
    },
  ],
});

/** A pod on a node, its status then written as the kubelet would. */
async function pod(
  api: Rest,
  o: {
    namespace: string;
    name: string;
    node: string;
    labels: Record<string, string>;
    container: string;
    image: string;
    serviceAccount?: string;
    ready: boolean;
    restarts?: number;
    podIp?: string;
  },
) {
  const base = `/api/v1/namespaces/${o.namespace}/pods`;
  await api.create(base, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: o.name, namespace: o.namespace, labels: o.labels },
    spec: {
      nodeName: o.node,
      serviceAccountName: o.serviceAccount ?? "default",
      automountServiceAccountToken: false,
      containers: [{ name: o.container, image: o.image }],
    },
  });
  await podStatus(api, o);
}

async function podStatus(
  api: Rest,
  o: {
    namespace: string;
    name: string;
    node: string;
    container: string;
    image: string;
    ready: boolean;
    restarts?: number;
    podIp?: string;
  },
) {
  const now = new Date().toISOString();
  const restarts = o.restarts ?? 0;
  const hostIp = NODES.find((n) => n.name === o.node)?.ip ?? "192.168.56.11";
  await api.status(`/api/v1/namespaces/${o.namespace}/pods/${o.name}`, {
    phase: "Running",
    hostIP: hostIp,
    podIP: o.podIp ?? hostIp,
    startTime: now,
    conditions: [
      { type: "Ready", status: o.ready ? "True" : "False", lastTransitionTime: now },
      { type: "ContainersReady", status: o.ready ? "True" : "False", lastTransitionTime: now },
    ],
    containerStatuses: [
      {
        name: o.container,
        image: o.image,
        imageID: "",
        ready: o.ready,
        restartCount: restarts,
        started: o.ready,
        state:
          restarts > 0 && !o.ready
            ? {
                waiting: {
                  reason: "CrashLoopBackOff",
                  message: `back-off 5m0s restarting failed container=${o.container}`,
                },
              }
            : { running: { startedAt: now } },
        ...(restarts > 0
          ? { lastState: { terminated: { exitCode: 1, reason: "Error", startedAt: now, finishedAt: now } } }
          : {}),
      },
    ],
  });
}

async function namespaceWithDefaultAccount(api: Rest, name: string) {
  await api.create("/api/v1/namespaces", { metadata: { name } }).catch(() => {});
  // No controller-manager creates `default`; the ServiceAccount admission plugin wants it.
  await api.create(`/api/v1/namespaces/${name}/serviceaccounts`, { metadata: { name: "default" } }).catch(() => {});
}

async function loadBalancer(
  api: Rest,
  o: { namespace: string; name: string; policy?: "Local" | "Cluster"; ingress?: string },
): Promise<void> {
  await api.create(`/api/v1/namespaces/${o.namespace}/services`, {
    metadata: { name: o.name },
    spec: {
      type: "LoadBalancer",
      selector: { app: o.name },
      externalTrafficPolicy: o.policy ?? "Cluster",
      ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }],
    },
  });
  if (o.ingress) await ingress(api, o.namespace, o.name, o.ingress);
}

/** What MetalLB's controller writes once it assigned an address. */
const ingress = (api: Rest, namespace: string, name: string, ip: string) =>
  api.status(`/api/v1/namespaces/${namespace}/services/${name}`, {
    loadBalancer: { ingress: [{ ip, ipMode: "VIP" }] },
  });

/** What MetalLB's speaker writes for the Service it announces (labels and status as in layer2_status_controller.go). */
async function l2Status(api: Rest, svc: { namespace: string; name: string }, node: string): Promise<string> {
  const base = "/apis/metallb.io/v1beta1/namespaces/metallb-system/servicel2statuses";
  const created = await api.create(base, {
    apiVersion: "metallb.io/v1beta1",
    kind: "ServiceL2Status",
    metadata: {
      generateName: "l2-",
      labels: {
        "metallb.io/node": node,
        "metallb.io/service-name": svc.name,
        "metallb.io/service-namespace": svc.namespace,
      },
    },
    spec: {},
  });
  const name = (created.metadata as { name: string }).name;
  await api.status(`${base}/${name}`, { node, serviceName: svc.name, serviceNamespace: svc.namespace });
  return `${base}/${name}`;
}

/**
 * felix's log as calico-node prints it: `date time.ms [LEVEL][pid] file line: message key=value`.
 * The health line is felix's, as quoted in calico#6963, calico#8616 and the seed's notes (the
 * source line number differs between Calico versions).
 */
const FELIX_LOG = [
  "2023-03-11 10:59:19.612 [INFO][79] felix/int_dataplane.go 1836: Applying dataplane updates",
  "2023-03-11 10:59:19.640 [INFO][79] felix/int_dataplane.go 1850: Finished applying updates to dataplane. msecToApply=27.9",
  "2023-03-11 10:59:21.751 [ERROR][79] felix/health.go 360: Health endpoint failed, trying to restart it... error=listen tcp: lookup localhost on 8.8.8.8:53: no such host",
  "2023-03-11 10:59:22.772 [ERROR][79] felix/health.go 360: Health endpoint failed, trying to restart it... error=listen tcp: lookup localhost on 8.8.8.8:53: no such host",
  "",
].join("\n");

/** The same felix, failing for another reason (the port taken, calico#2450): not this check's failure. */
const FELIX_PORT_TAKEN = [
  "2023-03-11 11:04:02.118 [INFO][81] felix/int_dataplane.go 1836: Applying dataplane updates",
  "2023-03-11 11:04:02.444 [ERROR][81] felix/health.go 360: Health endpoint failed, trying to restart it... error=listen tcp 127.0.0.1:9099: bind: address already in use",
  "",
].join("\n");

const CALICO_IMAGE = "quay.io/calico/node:v3.32.1";
const SPEAKER_IMAGE = "quay.io/metallb/speaker:v0.16.1";

// ---------------------------------------------------------------------------------------------

test("API checks: each known failure named from a real API server's objects, and passing once fixed", async (t) => {
  const server = await startApiServer(t);
  if (!server) return;
  const kc = kubeConfig(server.kubeconfig);
  const api = rest(kc);
  const plan = planOfFile(FILE);
  await namespaceWithDefaultAccount(api, "demo");
  for (const n of NODES)
    await api.create("/api/v1/nodes", {
      metadata: {
        name: n.name,
        labels: {
          "kubernetes.io/hostname": n.name,
          ...(n.control ? { "node-role.kubernetes.io/control-plane": "" } : {}),
        },
      },
    });

  await t.test("collectApi: objects keyed apiVersion/Kind, no managedFields, kinds not served are empty", async () => {
    const { api: evidence } = await doctor(kc);
    assert.deepEqual(Object.keys(evidence.objects), Object.values(API_KEYS).sort());
    const nodes = evidence.objects[API_KEYS.node] ?? [];
    assert.deepEqual(
      nodes.map((n) => (n.metadata as { name: string }).name).sort(),
      NODES.map((n) => n.name),
    );
    assert.ok(nodes.every((n) => n.apiVersion === "v1" && n.kind === "Node"));
    assert.ok(!JSON.stringify(evidence).includes("managedFields"));
    // MetalLB is not installed yet: its kinds are simply empty; AddressPool is gone since v0.14.
    assert.deepEqual(evidence.objects[API_KEYS.ipAddressPool], []);
    assert.deepEqual(evidence.objects[API_KEYS.addressPool], []);
    assert.deepEqual(evidence.logs, {});
  });

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

  const upstreamCalico = parseManifest(readFixture(FIXTURES.calico));
  const calicoPod = (name: string, node: string, restarts: number, ready: boolean) => ({
    namespace: "kube-system",
    name,
    node,
    labels: { "k8s-app": "calico-node" },
    container: "calico-node",
    image: CALICO_IMAGE,
    serviceAccount: "calico-node",
    ready,
    restarts,
  });

  await t.test(
    "calico.felix-health-localhost: upstream calico.yaml + restarts + felix's lookup localhost line fail; kubelab's render passes",
    async () => {
      // Calico as labs apply it: upstream calico.yaml untouched (no FELIX_HEALTHHOST).
      await applyObjects(kc, upstreamCalico, { timeoutMs: 60_000 });
      await pod(api, calicoPod("calico-node-w1", "worker-1", 6, false));
      await pod(api, calicoPod("calico-node-m1", "master-1", 0, true));
      await pod(api, calicoPod("calico-node-w2", "worker-2", 2, false));

      // No kubelet serves logs here: collectApi asks for the restarted pods' logs and gets none.
      const plain = await doctor(kc);
      assert.deepEqual(plain.api.logs, {});
      const unread = result(plain.results, "calico.felix-health-localhost");
      assert.equal(unread.verdict, "warn", JSON.stringify(unread.findings));
      assert.match(
        text(finding(unread, /calico-node-w1/)),
        /restartCount 6, waiting: CrashLoopBackOff.*\n.*could not be read/,
      );
      assert.equal(finding(unread, /calico-node-m1/).verdict, "pass");

      const { results } = await doctor(kc, {
        logs: {
          "kube-system/calico-node-w1/calico-node": FELIX_LOG,
          "kube-system/calico-node-w1/calico-node#previous": FELIX_LOG,
          "kube-system/calico-node-w2/calico-node#previous": FELIX_PORT_TAKEN,
        },
      });
      const broken = result(results, "calico.felix-health-localhost");
      assert.equal(broken.verdict, "fail");
      const w1 = finding(broken, "Pod kube-system/calico-node-w1 on worker-1");
      assert.equal(w1.verdict, "fail");
      assert.match(
        text(w1),
        /calico-node restartCount 6, waiting: CrashLoopBackOff, last terminated: Error \(exit 1\)/,
      );
      assert.match(
        text(w1),
        /kube-system\/calico-node-w1\/calico-node: 2023-03-11 10:59:21\.751 \[ERROR\]\[79\] felix\/health\.go 360: Health endpoint failed, trying to restart it\.\.\. error=listen tcp: lookup localhost on 8\.8\.8\.8:53: no such host/,
      );
      assert.match(text(w1), /\(4 such lines in kube-system\/calico-node-w1\/calico-node and .*#previous\)/);
      assert.match(text(w1), /DaemonSet calico-node: no FELIX_HEALTHHOST/);
      assert.match(w1.fix ?? "", /FELIX_HEALTHHOST=127\.0\.0\.1/);
      // Restarted, but felix says why and it is another failure.
      const w2 = finding(broken, /calico-node-w2/);
      assert.equal(w2.verdict, "pass");
      assert.match(text(w2), /restarted for another reason/);
      const ds = finding(broken, "DaemonSet kube-system/calico-node");
      assert.equal(ds.verdict, "fail");

      // kubelab's render (FELIX_HEALTHHOST=127.0.0.1 and the rest); the DaemonSet controller
      // would replace the pods: the old ones go (at once: no kubelet confirms), new ones run.
      await applyObjects(kc, transformCalico(upstreamCalico, plan), { timeoutMs: 60_000 });
      for (const [name, node] of [
        ["calico-node-w1", "worker-1"],
        ["calico-node-w2", "worker-2"],
      ] as const) {
        await api.remove(`/api/v1/namespaces/kube-system/pods/${name}?gracePeriodSeconds=0`);
        await pod(api, calicoPod(`${name}-new`, node, 0, true));
      }
      const fixed = result((await doctor(kc)).results, "calico.felix-health-localhost");
      assert.equal(fixed.verdict, "pass", JSON.stringify(fixed.findings));
      assert.deepEqual(finding(fixed, "DaemonSet kube-system/calico-node").evidence, [
        "DaemonSet calico-node: FELIX_HEALTHHOST=127.0.0.1",
      ]);
    },
  );

  await t.test(
    "calico.node-address: Calico's detected address on the NAT network fails; the lab address passes",
    async () => {
      const annotate = (name: string, address: string, tunnel: string) =>
        api.patch(`/api/v1/nodes/${name}`, {
          metadata: {
            annotations: {
              "projectcalico.org/IPv4Address": address,
              "projectcalico.org/IPv4IPIPTunnelAddr": tunnel,
            },
          },
        });
      // What calico-node writes with IP=autodetect and no method: the first interface (NAT NIC).
      await applyObjects(kc, upstreamCalico, { timeoutMs: 60_000, force: true });
      for (const [i, n] of NODES.entries()) await annotate(n.name, "10.0.2.15/24", `192.168.112.${64 * i + 1}`);
      const broken = result((await doctor(kc)).results, "calico.node-address");
      assert.equal(broken.verdict, "fail");
      const w1 = finding(broken, "worker-1");
      assert.match(text(w1), /^projectcalico\.org\/IPv4Address: 10\.0\.2\.15\/24$/m);
      assert.match(text(w1), /projectcalico\.org\/IPv4IPIPTunnelAddr: 192\.168\.112\.65/);
      assert.match(text(w1), /NAT network 10\.0\.2\.0\/24/);
      assert.match(text(w1), /the same address as master-1, worker-2/);
      assert.match(text(w1), /the plan's address for worker-1 is 192\.168\.56\.12/);
      // Upstream calico.yaml has no IP_AUTODETECTION_METHOD (fixtures NOTES.md).
      assert.match(text(w1), /IP_AUTODETECTION_METHOD=\(unset/);
      assert.match(w1.fix ?? "", /IP_AUTODETECTION_METHOD=can-reach=\$\(NODEIP\)/);

      await applyObjects(kc, transformCalico(upstreamCalico, plan), { timeoutMs: 60_000 });
      for (const [i, n] of NODES.entries()) await annotate(n.name, `${n.ip}/24`, `192.168.112.${64 * i + 1}`);
      const fixed = result((await doctor(kc)).results, "calico.node-address");
      assert.equal(fixed.verdict, "pass", JSON.stringify(fixed.findings));
      assert.match(
        text(finding(fixed, "worker-2")),
        /IPv4Address: 192\.168\.56\.13\/24, .*IPv4IPIPTunnelAddr: 192\.168\.112\.129/,
      );
    },
  );

  const metallbManifest = parseManifest(readFixture(FIXTURES.metallb)).filter(
    // No pod could serve MetalLB's webhook here (as in src/addons/addons.test.ts).
    (o) => !o.kind.endsWith("WebhookConfiguration"),
  );
  const [kubelabPool, kubelabAd] = metallbObjects(plan) as [KubeObject, KubeObject];

  await t.test(
    "metallb.pending-services: not installed, no controller, no pool, pool exhausted, each named; an address passes",
    async () => {
      await loadBalancer(api, { namespace: "demo", name: "web" });
      const why = async () => {
        const r = result((await doctor(kc)).results, "metallb.pending-services");
        return finding(r, "Service demo/web");
      };
      let f = await why();
      assert.equal(f.verdict, "fail");
      assert.match(
        text(f),
        /no status\.loadBalancer\.ingress \(pending\)\nMetalLB is not installed: no MetalLB controller Deployment, no IPAddressPool/,
      );
      assert.match(f.fix ?? "", /kubelab up/);

      await applyObjects(kc, metallbManifest, { timeoutMs: 60_000 });
      f = await why();
      assert.match(text(f), /Deployment metallb-system\/controller: 0 of 1 available: nothing assigns addresses/);

      // The controller's pods became available (as the Deployment controller would report it).
      await api.status("/apis/apps/v1/namespaces/metallb-system/deployments/controller", {
        observedGeneration: 1,
        replicas: 1,
        updatedReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
      });
      f = await why();
      assert.match(text(f), /no IPAddressPool in metallb-system: MetalLB has no address to give/);

      // A one-address pool, its address already taken by another Service.
      const onePool: KubeObject = { ...kubelabPool, spec: { addresses: ["192.168.56.46/32"] } };
      await applyObjects(kc, [onePool], { timeoutMs: 60_000 });
      await loadBalancer(api, { namespace: "demo", name: "first", ingress: "192.168.56.46" });
      f = await why();
      assert.match(
        text(f),
        /IPAddressPool metallb-system\/kubelab-lab \(192\.168\.56\.46\/32\) is exhausted: 1 addresses, 1 in use \(192\.168\.56\.46\)/,
      );
      assert.match(f.fix ?? "", /widen addons\.metallb\.pools/);

      // kubelab's pool (the plan's 11 addresses): the controller assigns one.
      await applyObjects(kc, [kubelabPool], { timeoutMs: 60_000 });
      f = await why();
      assert.match(text(f), /no cause visible in the API objects/);
      await ingress(api, "demo", "web", "192.168.56.47");
      const fixed = result((await doctor(kc)).results, "metallb.pending-services");
      assert.equal(fixed.verdict, "pass", JSON.stringify(fixed.findings));
      assert.deepEqual(finding(fixed, "Service demo/web").evidence, ["status.loadBalancer.ingress: 192.168.56.47"]);
      await api.remove("/api/v1/namespaces/demo/services/first");
    },
  );

  await t.test(
    "metallb.advertisement: no L2Advertisement, or one for another pool, fails; kubelab's pair passes",
    async () => {
      const check = async () => result((await doctor(kc)).results, "metallb.advertisement");
      let r = await check();
      assert.equal(r.verdict, "fail");
      assert.ok(
        r.findings.some((f) => f.verdict === "fail" && /^no L2Advertisement in metallb-system/.test(text(f))),
        JSON.stringify(r.findings),
      );

      const other = {
        ...kubelabAd,
        metadata: { ...kubelabAd.metadata, name: "other" },
        spec: { ipAddressPools: ["other"] },
      };
      await applyObjects(kc, [other], { timeoutMs: 60_000 });
      r = await check();
      assert.equal(r.verdict, "fail");
      const pool = finding(r, "IPAddressPool metallb-system/kubelab-lab");
      assert.match(text(pool), /is announced by no L2Advertisement/);
      assert.match(text(pool), /L2Advertisement metallb-system\/other \(ipAddressPools: \["other"\]\)/);
      assert.equal(finding(r, "L2Advertisement metallb-system/other").verdict, "warn");

      // Selected by label instead: announced.
      await api.patch("/apis/metallb.io/v1beta1/namespaces/metallb-system/l2advertisements/other", {
        spec: {
          ipAddressPools: null,
          ipAddressPoolSelectors: [{ matchLabels: { "app.kubernetes.io/managed-by": "kubelab" } }],
        },
      });
      r = await check();
      assert.equal(r.verdict, "pass", JSON.stringify(r.findings));
      await api.remove("/apis/metallb.io/v1beta1/namespaces/metallb-system/l2advertisements/other");

      await applyObjects(kc, [kubelabPool, kubelabAd], { timeoutMs: 60_000 });
      r = await check();
      assert.equal(r.verdict, "pass", JSON.stringify(r.findings));
      assert.deepEqual(finding(r, "IPAddressPool metallb-system/kubelab-lab").evidence, [
        'IPAddressPool metallb-system/kubelab-lab (192.168.56.46-192.168.56.56) announced by L2Advertisement metallb-system/kubelab-lab (ipAddressPools: ["kubelab-lab"])',
      ]);
    },
  );

  await t.test(
    "metallb.local-traffic-policy and speaker-on-node: announced from a node without endpoint or speaker fails; fixed passes",
    async () => {
      // demo/web (192.168.56.47) becomes Local; its one ready pod runs on worker-2.
      await api.patch("/api/v1/namespaces/demo/services/web", { spec: { externalTrafficPolicy: "Local" } });
      await api.create("/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices", {
        metadata: { name: "web-x7k2p", labels: { "kubernetes.io/service-name": "web" } },
        addressType: "IPv4",
        endpoints: [
          { addresses: ["192.168.113.7"], conditions: { ready: true }, nodeName: "worker-2" },
          { addresses: ["192.168.112.66"], conditions: { ready: false }, nodeName: "worker-1" },
        ],
        ports: [{ name: "http", protocol: "TCP", port: 8080 }],
      });
      // Speakers on every node; the one on worker-1 not Ready; worker-1 announces the address.
      for (const n of NODES)
        await pod(api, {
          namespace: "metallb-system",
          name: `speaker-${n.name}`,
          node: n.name,
          labels: { app: "metallb", component: "speaker" },
          container: "speaker",
          image: SPEAKER_IMAGE,
          serviceAccount: "speaker",
          ready: n.name !== "worker-1",
        });
      await api.status("/apis/apps/v1/namespaces/metallb-system/daemonsets/speaker", {
        observedGeneration: 1,
        desiredNumberScheduled: 3,
        currentNumberScheduled: 3,
        updatedNumberScheduled: 3,
        numberReady: 2,
        numberAvailable: 2,
        numberMisscheduled: 0,
      });
      const announced = await l2Status(api, { namespace: "demo", name: "web" }, "worker-1");

      const { results } = await doctor(kc);
      const local = result(results, "metallb.local-traffic-policy");
      assert.equal(local.verdict, "fail");
      const lf = finding(local, "Service demo/web");
      assert.match(text(lf), /externalTrafficPolicy: Local, address 192\.168\.56\.47/);
      assert.match(text(lf), /announced from worker-1 \(ServiceL2Status metallb-system\/l2-\w+\)/);
      assert.match(text(lf), /ready endpoints: 192\.168\.113\.7 on worker-2/);
      assert.match(text(lf), /worker-1 has no ready endpoint/);
      assert.match(lf.fix ?? "", /"externalTrafficPolicy":"Cluster"/);
      const speaker = result(results, "metallb.speaker-on-node");
      assert.equal(speaker.verdict, "fail");
      const sf = finding(speaker, "Service demo/web");
      assert.match(text(sf), /no ready speaker on worker-1/);
      assert.match(text(sf), /DaemonSet metallb-system\/speaker: 2 of 3 ready/);
      assert.match(text(sf), /speaker-worker-1 on worker-1 not Ready/);

      // The seed's fix: back to Cluster. And the speaker on worker-1 Ready again.
      await api.patch("/api/v1/namespaces/demo/services/web", { spec: { externalTrafficPolicy: "Cluster" } });
      await podStatus(api, {
        namespace: "metallb-system",
        name: "speaker-worker-1",
        node: "worker-1",
        container: "speaker",
        image: SPEAKER_IMAGE,
        ready: true,
      });
      let fixed = await doctor(kc);
      assert.equal(result(fixed.results, "metallb.local-traffic-policy").verdict, "pass");
      assert.equal(result(fixed.results, "metallb.speaker-on-node").verdict, "pass");

      // Local kept, announced from the node with the endpoint (node is immutable: a new status).
      await api.patch("/api/v1/namespaces/demo/services/web", { spec: { externalTrafficPolicy: "Local" } });
      await api.remove(announced);
      await l2Status(api, { namespace: "demo", name: "web" }, "worker-2");
      fixed = await doctor(kc);
      const kept = result(fixed.results, "metallb.local-traffic-policy");
      assert.equal(kept.verdict, "pass", JSON.stringify(kept.findings));
      assert.match(text(finding(kept, "Service demo/web")), /announced from worker-2/);
      assert.equal(result(fixed.results, "metallb.speaker-on-node").verdict, "pass");
    },
  );

  await t.test(
    "metallb.deprecated-config: a v0.12 ConfigMap and a legacy AddressPool fail; removed they pass",
    async () => {
      // MetalLB's configuration before v0.13.
      await api.create("/api/v1/namespaces/metallb-system/configmaps", {
        metadata: { name: "config" },
        data: {
          config:
            "address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - 192.168.56.46-192.168.56.56\n",
        },
      });
      // AddressPool as MetalLB v0.13 served it (v1alpha1 and v1beta1, both deprecated; schema trimmed
      // to the fields used here), and one object of it.
      const version = (name: string, storage: boolean, warning: string) => ({
        name,
        served: true,
        storage,
        deprecated: true,
        deprecationWarning: warning,
        schema: {
          openAPIV3Schema: {
            type: "object",
            required: ["spec"],
            properties: {
              spec: {
                type: "object",
                required: ["addresses", "protocol"],
                properties: {
                  addresses: { type: "array", items: { type: "string" } },
                  autoAssign: { type: "boolean", default: true },
                  protocol: { type: "string", enum: ["layer2", "bgp"] },
                },
              },
              status: { type: "object" },
            },
          },
        },
        subresources: { status: {} },
      });
      const legacy: KubeObject[] = [
        {
          apiVersion: "apiextensions.k8s.io/v1",
          kind: "CustomResourceDefinition",
          metadata: { name: "addresspools.metallb.io" },
          spec: {
            group: "metallb.io",
            names: {
              kind: "AddressPool",
              listKind: "AddressPoolList",
              plural: "addresspools",
              singular: "addresspool",
            },
            scope: "Namespaced",
            versions: [
              version("v1alpha1", false, "metallb.io v1alpha1 AddressPool is deprecated"),
              version("v1beta1", true, "metallb.io v1beta1 AddressPool is deprecated, consider using IPAddressPool"),
            ],
          },
        },
        {
          apiVersion: "metallb.io/v1beta1",
          kind: "AddressPool",
          metadata: { name: "default", namespace: "metallb-system" },
          spec: { protocol: "layer2", addresses: ["192.168.56.46-192.168.56.56"] },
        },
      ];
      await applyObjects(kc, legacy, { timeoutMs: 60_000 });
      const broken = result((await doctor(kc)).results, "metallb.deprecated-config");
      assert.equal(broken.verdict, "fail");
      const cm = finding(broken, "ConfigMap metallb-system/config");
      assert.match(text(cm), /data\.config:\n {2}address-pools:\n {2}- name: default\n {2} {2}protocol: layer2/);
      assert.match(cm.fix ?? "", /kubectl -n metallb-system delete configmap config/);
      const pool = finding(broken, "AddressPool metallb-system/default");
      assert.match(text(pool), /protocol layer2, addresses \["192\.168\.56\.46-192\.168\.56\.56"\]/);
      assert.match(pool.fix ?? "", /IPAddressPool with an L2Advertisement/);

      await api.remove("/api/v1/namespaces/metallb-system/configmaps/config");
      await api.remove("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/addresspools.metallb.io");
      // The CRD goes away asynchronously (its objects are deleted first): wait for the kind to be gone.
      for (let i = 0; i < 200; i++) {
        const res = await requestRaw(kc, "GET", "/apis/metallb.io/v1beta1/addresspools");
        if (res.status === 404) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const fixed = result((await doctor(kc)).results, "metallb.deprecated-config");
      assert.equal(fixed.verdict, "pass", JSON.stringify(fixed.findings));
    },
  );

  await t.test(
    "kube-proxy.mode: ipvs without strictARP fails with MetalLB; kubelab's ensureStrictArp makes it pass",
    async () => {
      const ipvsFile = { ...FILE, kubernetes: { ...(FILE.kubernetes as Obj), proxyMode: "ipvs" } };
      // What kubeadm made on a cluster created without strictARP.
      await api.create("/api/v1/namespaces/kube-system/configmaps", {
        metadata: { name: "kube-proxy" },
        data: {
          "config.conf":
            "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  strictARP: false\n  scheduler: rr\n",
        },
      });
      await api.create("/apis/apps/v1/namespaces/kube-system/daemonsets", {
        metadata: { name: "kube-proxy" },
        spec: {
          selector: { matchLabels: { "k8s-app": "kube-proxy" } },
          template: {
            metadata: { labels: { "k8s-app": "kube-proxy" } },
            spec: { containers: [{ name: "kube-proxy", image: "registry.k8s.io/kube-proxy:v1.37.2" }] },
          },
        },
      });
      const broken = result((await doctor(kc, { file: ipvsFile })).results, "kube-proxy.mode");
      assert.equal(broken.verdict, "fail");
      const f = finding(broken, "ConfigMap kube-system/kube-proxy");
      assert.deepEqual(f.evidence.slice(0, 2), ["config.conf: mode: ipvs", "config.conf: ipvs.strictARP: false"]);
      assert.match(f.fix ?? "", /strictARP: true .* rollout restart ds\/kube-proxy/);
      // The plan says iptables (the default file): the live mode differs, a warning on top.
      const planned = result((await doctor(kc)).results, "kube-proxy.mode");
      assert.deepEqual(
        planned.findings.map((x) => x.verdict),
        ["fail", "warn"],
      );

      await ensureStrictArp(kc);
      const fixed = result((await doctor(kc, { file: ipvsFile })).results, "kube-proxy.mode");
      assert.equal(fixed.verdict, "pass", JSON.stringify(fixed.findings));
      assert.deepEqual(fixed.findings[0]?.evidence, ["config.conf: mode: ipvs, ipvs.strictARP: true"]);
    },
  );

  await t.test(
    "linkerd.issuer-expiry: only the certificate is read; expired fails, 15 days left warns, fresh passes",
    async () => {
      await namespaceWithDefaultAccount(api, "linkerd");
      const now = new Date();
      const issuer = async (daysAgo: number) => {
        const id = await generateLinkerdIdentity({
          clock: { now: () => new Date(now.getTime() - daysAgo * 86_400_000) },
        });
        return { crt: id.issuerCertPEM, key: id.issuerKeyPEM };
      };
      const b64 = (s: string) => Buffer.from(s).toString("base64");
      const first = await issuer(400);
      // As the chart (scheme linkerd.io/tls) makes it, applied with kubectl: the last-applied
      // annotation carries the key too.
      const secret = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "linkerd-identity-issuer", namespace: "linkerd" },
        data: { "crt.pem": b64(first.crt), "key.pem": b64(first.key) },
      };
      await api.create("/api/v1/namespaces/linkerd/secrets", {
        ...secret,
        metadata: {
          ...secret.metadata,
          annotations: { "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify(secret) },
        },
      });
      await api.create("/api/v1/namespaces/linkerd/secrets", {
        metadata: { name: "not-for-doctor" },
        stringData: { token: "never read" },
      });
      let run = await doctor(kc, { collectedAt: now });
      const secrets = run.api.objects[API_KEYS.secret] ?? [];
      assert.equal(secrets.length, 1);
      assert.deepEqual(Object.keys(secrets[0]?.data as Obj), ["crt.pem"]);
      assert.equal(((secrets[0]?.metadata ?? {}) as Obj).annotations, undefined);
      const dumped = JSON.stringify(run.api);
      assert.ok(!dumped.includes(b64(first.key)) && !dumped.includes("PRIVATE KEY") && !dumped.includes("never read"));
      let r = result(run.results, "linkerd.issuer-expiry");
      assert.equal(r.verdict, "fail");
      assert.match(text(r.findings[0] as Finding), /crt\.pem: notAfter .*\nexpired 35 days before/);
      assert.match(r.findings[0]?.fix ?? "", /kubelab up: it renews an issuer within 30 days/);

      const soon = await issuer(350);
      await api.patch("/api/v1/namespaces/linkerd/secrets/linkerd-identity-issuer", {
        data: { "crt.pem": b64(soon.crt), "key.pem": b64(soon.key) },
      });
      r = result((await doctor(kc, { collectedAt: now })).results, "linkerd.issuer-expiry");
      assert.equal(r.verdict, "warn");
      assert.match(text(r.findings[0] as Finding), /expires in 1[45] days \(within 30\)/);

      const fresh = await issuer(0);
      await api.patch("/api/v1/namespaces/linkerd/secrets/linkerd-identity-issuer", {
        data: { "crt.pem": b64(fresh.crt), "key.pem": b64(fresh.key) },
      });
      run = await doctor(kc, { collectedAt: now });
      r = result(run.results, "linkerd.issuer-expiry");
      assert.equal(r.verdict, "pass", JSON.stringify(r.findings));
      assert.match(text(r.findings[0] as Finding), /\(in 36[45] days\)/);
    },
  );
});
