// Draining against a real kube-apiserver + etcd (test/helpers/apiserver.ts): no kubelet and no
// controllers run, so pods are made bound to a Node and marked running by hand, and a
// PodDisruptionBudget is never processed: the Eviction API refuses its pods (429) until it goes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CoreV1Api, PolicyV1Api, type V1Pod } from "@kubernetes/client-node";
import { startApiServer } from "../../test/helpers/apiserver.js";
import { UserError } from "../errors.js";
import { kubeConfig, requestApi } from "./client.js";
import { drainNode, uncordonNode } from "./drain.js";

const NODE = "worker-x";

test("drain evicts through the Eviction API: a budget's pods stay until it goes, DaemonSet pods stay", async (t) => {
  const api = await startApiServer(t);
  if (!api) return;
  const kc = kubeConfig(api.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNode({ body: { metadata: { name: NODE } } });
  // No controller-manager: the ServiceAccount admission needs the namespace's default account made by hand.
  await core.createNamespacedServiceAccount({ namespace: "default", body: { metadata: { name: "default" } } });
  const pod = (name: string, more: V1Pod["metadata"] = {}): V1Pod => ({
    metadata: { name, ...more },
    spec: {
      nodeName: NODE,
      // No kubelet confirms a pod's end: a grace period of 0 lets the API server delete it at once.
      terminationGracePeriodSeconds: 0,
      containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }],
    },
  });
  await core.createNamespacedPod({ namespace: "default", body: pod("web-1") });
  await core.createNamespacedPod({ namespace: "default", body: pod("guarded-1", { labels: { app: "guarded" } }) });
  await core.createNamespacedPod({
    namespace: "default",
    body: pod("agent-1", {
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "DaemonSet",
          name: "agent",
          uid: "00000000-0000-0000-0000-000000000001",
          controller: true,
        },
      ],
    }),
  });
  // A budget only guards running pods (pending ones are evicted whatever it says).
  const running = JSON.stringify({ status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } });
  const r = await requestApi(kc, "PATCH", "/api/v1/namespaces/default/pods/guarded-1/status", {
    contentType: "application/merge-patch+json",
    data: running,
  });
  assert.equal(r.status, 200, r.body);
  await kc.makeApiClient(PolicyV1Api).createNamespacedPodDisruptionBudget({
    namespace: "default",
    body: { metadata: { name: "guarded" }, spec: { minAvailable: 1, selector: { matchLabels: { app: "guarded" } } } },
  });

  const log: string[] = [];
  const e = await drainNode(kc, NODE, { timeoutMs: 5_000, log: (l) => log.push(l) }).catch((err: unknown) => err);
  assert.ok(e instanceof UserError, String(e));
  assert.match(
    e.message,
    /^draining worker-x gave up after 5 s: 1 pod still on it: default\/guarded-1 \(eviction refused: HTTP 429/,
  );
  assert.ok(log.includes("worker-x: evicted default/web-1"), log.join("\n"));
  const left = async () =>
    (await core.listNamespacedPod({ namespace: "default" })).items.map((p) => p.metadata?.name).sort();
  assert.deepEqual(await left(), ["agent-1", "guarded-1"]);
  assert.equal((await core.readNode({ name: NODE })).spec?.unschedulable, true, "cordoned");

  await kc.makeApiClient(PolicyV1Api).deleteNamespacedPodDisruptionBudget({ name: "guarded", namespace: "default" });
  await drainNode(kc, NODE, { timeoutMs: 30_000, log: (l) => log.push(l) });
  assert.deepEqual(await left(), ["agent-1"], "DaemonSet pods stay");
  await uncordonNode(kc, NODE);
  assert.equal((await core.readNode({ name: NODE })).spec?.unschedulable, undefined);
});
