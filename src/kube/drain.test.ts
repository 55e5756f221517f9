// Draining against a loopback API server that answers as kube-apiserver does: which pods are
// evicted, a PodDisruptionBudget's 429 asked again, and a deadline that names the pods left.
import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { fakeApi } from "../../test/helpers/fake-api.js";
import { UserError } from "../errors.js";
import { drainNode, podDrain, uncordonNode } from "./drain.js";

const pod = (name: string, more: Partial<V1Pod["metadata"]> = {}): V1Pod => ({
  metadata: { name, namespace: "default", ...more },
  spec: { nodeName: "worker-2", containers: [] },
});
const daemonPod = pod("calico-node-x", {
  namespace: "kube-system",
  ownerReferences: [{ apiVersion: "apps/v1", kind: "DaemonSet", name: "calico-node", uid: "1", controller: true }],
});
const mirrorPod = pod("etcd-worker-2", {
  namespace: "kube-system",
  annotations: { "kubernetes.io/config.mirror": "x" },
});
const replicaPod = pod("web-1", {
  ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "2", controller: true }],
});

/**
 * nodeApi serves Node patches of worker-2, its pod list and evictions: `refuse(name)` says
 * whether an eviction of that pod is refused with a budget's 429 this time.
 */
async function nodeApi(t: TestContext, pods: V1Pod[], refuse: (name: string) => boolean) {
  const seen = { patches: [] as string[], evictions: [] as string[], refused: 0 };
  const { kc } = await fakeApi(t, (req) => {
    const nodeMatch = /^\/api\/v1\/nodes\/([^/]+)$/.exec(req.url.pathname);
    if (req.method === "PATCH" && nodeMatch) {
      if (nodeMatch[1] !== "worker-2") return { status: 404, body: { message: "not found" } };
      seen.patches.push(`${req.contentType} ${req.body}`);
      return { status: 200 };
    }
    if (req.method === "GET" && req.url.pathname === "/api/v1/pods") {
      assert.equal(req.url.searchParams.get("fieldSelector"), "spec.nodeName=worker-2");
      return { status: 200, body: { items: pods } };
    }
    const ev = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/eviction$/.exec(req.url.pathname);
    if (req.method === "POST" && ev) {
      const name = ev[2] ?? "";
      assert.equal(JSON.parse(req.body).kind, "Eviction");
      seen.evictions.push(`${ev[1]}/${name}`);
      if (refuse(name)) {
        seen.refused++;
        return {
          status: 429,
          body: { kind: "Status", message: "Cannot evict pod as it would violate the pod's disruption budget." },
        };
      }
      const i = pods.findIndex((p) => p.metadata?.name === name);
      if (i >= 0) pods.splice(i, 1);
      return { status: 201 };
    }
    return { status: 404, body: { message: `unexpected ${req.method} ${req.url.pathname}` } };
  });
  return { kc, seen };
}

test("a drain skips DaemonSet and mirror pods and evicts the others", () => {
  assert.equal(podDrain(daemonPod), "skip-daemonset");
  assert.equal(podDrain(mirrorPod), "skip-mirror");
  assert.equal(podDrain(replicaPod), "evict");
  assert.equal(podDrain(pod("bare")), "evict");
});

test("drainNode cordons, evicts through the Eviction API and asks again while a budget refuses (429)", async (t) => {
  let refusals = 2;
  const pods = [daemonPod, mirrorPod, replicaPod, pod("bare")];
  const api = await nodeApi(t, pods, (name) => name === "web-1" && refusals-- > 0);
  const log: string[] = [];
  await drainNode(api.kc, "worker-2", { timeoutMs: 60_000, log: (l) => log.push(l) });
  assert.deepEqual(api.seen.patches, ['application/merge-patch+json {"spec":{"unschedulable":true}}']);
  assert.equal(api.seen.refused, 2);
  assert.deepEqual(
    [...new Set(api.seen.evictions)].sort(),
    ["default/bare", "default/web-1"],
    "DaemonSet and mirror pods are never evicted",
  );
  assert.deepEqual(
    pods.map((p) => p.metadata?.name),
    ["calico-node-x", "etcd-worker-2"],
  );
  assert.ok(log.includes("worker-2: cordoned"));
  assert.ok(log.some((l) => /default\/web-1: eviction refused: HTTP 429: Cannot evict pod/.test(l)));
  assert.equal(log.at(-1), "worker-2: drained");
});

test("drainNode gives up at its deadline naming each pod left and why", async (t) => {
  const api = await nodeApi(t, [replicaPod, pod("db-0", { deletionTimestamp: new Date() })], () => true);
  const e = await drainNode(api.kc, "worker-2", { timeoutMs: 300, log: () => {} }).catch((err: unknown) => err);
  assert.ok(e instanceof UserError, String(e));
  assert.equal(e.exitCode, 1);
  assert.match(e.message, /^draining worker-2 gave up after 0.3 s: 2 pods still on it: /);
  assert.match(e.message, /default\/web-1 \(eviction refused: HTTP 429: Cannot evict pod/);
  assert.match(e.message, /default\/db-0 \(evicted, still terminating\)/);
  assert.match(e.hint ?? "", /kubelab up --prune/);
  assert.ok(!api.seen.evictions.includes("default/db-0"), "a terminating pod is not evicted again");
});

test("a node the API does not know has nothing to drain; uncordon clears unschedulable", async (t) => {
  const api = await nodeApi(t, [], () => false);
  const log: string[] = [];
  await drainNode(api.kc, "gone", { timeoutMs: 1_000, log: (l) => log.push(l) });
  assert.deepEqual(log, ["gone: no Node object in the cluster: nothing to drain"]);
  await uncordonNode(api.kc, "worker-2");
  assert.deepEqual(api.seen.patches, ['application/merge-patch+json {"spec":{"unschedulable":null}}']);
  await assert.rejects(uncordonNode(api.kc, "gone"), /uncordon gone: no such Node/);
});
