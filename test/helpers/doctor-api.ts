/**
 * A lab's API for doctor's API checks: a real kube-apiserver + etcd (./apiserver.ts) with the
 * three nodes of the default cluster file, written to as raw JSON the way a kubelet or a
 * controller would (statuses through the status subresource, since none runs here), and the
 * evidence `kubelab doctor` collects from it, checked by every check that reads the API.
 */
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import type { KubeConfig } from "@kubernetes/client-node";
import { parse } from "yaml";
import { DEFAULT_CLUSTER_YAML } from "../../src/config/default-cluster.js";
import { collectApi } from "../../src/doctor/api.js";
import { CHECKS } from "../../src/doctor/checks/index.js";
import { runChecks } from "../../src/doctor/run.js";
import type { ApiEvidence, CheckResult, Evidence, Finding } from "../../src/doctor/types.js";
import { kubeConfig, requestRaw, statusMessage } from "../../src/kube/client.js";
import type { Plan } from "../../src/plan/types.js";
import { startApiServer } from "./apiserver.js";
import { planOf } from "./fixtures.js";

type Obj = Record<string, unknown>;

/** rest writes to the API server as raw JSON. */
export function rest(kc: KubeConfig) {
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
export type Rest = ReturnType<typeof rest>;

/** The default cluster file, as parsed. */
export const FILE = parse(DEFAULT_CLUSTER_YAML) as Obj;

/** Every check that reads the API. */
const API_CHECKS = CHECKS.filter((c) => c.needs.includes("api"));

/** Evidence as `kubelab doctor` collects it from the API (plus log lines a test supplies), and the API checks' results. */
export async function doctor(
  kc: KubeConfig,
  opts: { file?: unknown; logs?: Record<string, string>; collectedAt?: Date } = {},
): Promise<{ api: ApiEvidence; results: CheckResult[] }> {
  const file = opts.file ?? FILE;
  const collected = await collectApi(kc, planOf(file));
  const api: ApiEvidence = { ...collected, logs: { ...collected.logs, ...opts.logs } };
  const evidence: Evidence = {
    format: "kubelab.dev/doctor-evidence/v1",
    collectedAt: (opts.collectedAt ?? new Date()).toISOString(),
    file,
    api,
    unavailable: {},
  };
  return { api: collected, results: runChecks(evidence, API_CHECKS) };
}

/** The result of check `id`. */
export function result(results: readonly CheckResult[], id: string): CheckResult {
  const r = results.find((x) => x.id === id);
  assert.ok(r, `no result for ${id}`);
  return r;
}

/** The finding of `r` about `subject`. */
export function finding(r: CheckResult, subject: string | RegExp): Finding {
  const f = r.findings.find((x) =>
    typeof subject === "string" ? x.subject === subject : subject.test(x.subject ?? ""),
  );
  assert.ok(f, `${r.id}: no finding about ${subject} in ${JSON.stringify(r.findings, null, 2)}`);
  return f;
}

/** A finding's evidence, a line each. */
export const text = (f: Finding) => f.evidence.join("\n");

/** The default file's nodes. */
export const NODES = [
  { name: "master-1", ip: "192.168.56.11", control: true },
  { name: "worker-1", ip: "192.168.56.12", control: false },
  { name: "worker-2", ip: "192.168.56.13", control: false },
] as const;

/** A Node's status as its kubelet reports it. */
export const nodeStatus = (name: string, internalIp: string) => ({
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
export async function pod(
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

/** A pod's status as its kubelet writes it. */
export async function podStatus(
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

/** A namespace with its `default` ServiceAccount. */
export async function namespaceWithDefaultAccount(api: Rest, name: string) {
  await api.create("/api/v1/namespaces", { metadata: { name } }).catch(() => {});
  // No controller-manager creates `default`; the ServiceAccount admission plugin wants it.
  await api.create(`/api/v1/namespaces/${name}/serviceaccounts`, { metadata: { name: "default" } }).catch(() => {});
}

/** A LoadBalancer Service, with its address when `ingress` is given. */
export async function loadBalancer(
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
export const ingress = (api: Rest, namespace: string, name: string, ip: string) =>
  api.status(`/api/v1/namespaces/${namespace}/services/${name}`, {
    loadBalancer: { ingress: [{ ip, ipMode: "VIP" }] },
  });

/** What MetalLB's speaker writes for the Service it announces (labels and status as in layer2_status_controller.go). */
export async function l2Status(api: Rest, svc: { namespace: string; name: string }, node: string): Promise<string> {
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

/** A lab's API: the server, a writer for it, and the default file's plan. */
export interface LabApi {
  readonly kc: KubeConfig;
  readonly api: Rest;
  readonly plan: Plan;
}

/**
 * startLabApi starts an API server holding the default file's nodes (no status yet) and the
 * namespace `demo`; undefined (skipped) without the binaries.
 */
export async function startLabApi(t: TestContext): Promise<LabApi | undefined> {
  const server = await startApiServer(t);
  if (!server) return undefined;
  const kc = kubeConfig(server.kubeconfig);
  const api = rest(kc);
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
  return { kc, api, plan: planOf(FILE) };
}
