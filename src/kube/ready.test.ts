// Workload readiness against a real kube-apiserver + etcd. No controller manager or kubelet
// runs there, so the test writes what they would: pods, their status, events, and the
// Deployment's status; the wait must judge and explain from exactly those objects.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AppsV1Api, CoreV1Api, type V1Deployment } from "@kubernetes/client-node";
import { startApiServer } from "../../test/helpers/apiserver.js";
import { kubeConfig } from "./client.js";
import { waitWorkloads } from "./ready.js";

const deployment: V1Deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "default" },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "web", image: "registry.example/web:1" }] },
    },
  },
};

test("a workload that is not ready is explained by its pods and events; it passes once its status says ready", async (t) => {
  const api = await startApiServer(t);
  if (!api) return;
  const kc = kubeConfig(api.kubeconfig);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  await apps.createNamespacedDeployment({ namespace: "default", body: deployment });
  const objects = [deployment as never];

  await assert.rejects(waitWorkloads(kc, objects, { what: "web", timeoutMs: 1_000 }), (e: Error) => {
    assert.equal(e.name, "WaitTimeout");
    assert.match(
      e.message,
      /^web not ready after 1 s:\n {2}Deployment default\/web: 0 of 1 available; no pods \(the controller manager makes them: is it running\?\)$/,
    );
    return true;
  });

  // What the controller manager and a kubelet would have written for a pod that cannot pull
  // (the controller manager also makes each namespace's default ServiceAccount).
  await core.createNamespacedServiceAccount({ namespace: "default", body: { metadata: { name: "default" } } });
  const pod = await core.createNamespacedPod({
    namespace: "default",
    body: {
      metadata: { name: "web-1", labels: { app: "web" } },
      spec: { nodeName: "worker-1", containers: [{ name: "web", image: "registry.example/web:1" }] },
    },
  });
  await core.replaceNamespacedPodStatus({
    name: "web-1",
    namespace: "default",
    body: {
      ...pod,
      status: {
        phase: "Pending",
        containerStatuses: [
          {
            name: "web",
            image: "registry.example/web:1",
            imageID: "",
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: "ErrImagePull", message: "pull access denied" } },
          },
        ],
      },
    },
  });
  await core.createNamespacedEvent({
    namespace: "default",
    body: {
      metadata: { name: "web-1.pull" },
      involvedObject: { kind: "Pod", name: "web-1", namespace: "default" },
      reason: "Failed",
      message: 'Failed to pull image "registry.example/web:1"',
      type: "Warning",
      lastTimestamp: new Date(),
    },
  });
  await assert.rejects(waitWorkloads(kc, objects, { what: "web", timeoutMs: 1_000 }), (e: Error) => {
    assert.match(
      e.message,
      /Deployment default\/web: 0 of 1 available\n {4}pod web-1 on worker-1: Pending; web: ErrImagePull \(pull access denied\)\n {6}event Failed: Failed to pull image "registry\.example\/web:1"$/,
    );
    return true;
  });

  // The controller's report of a finished rollout.
  const current = await apps.readNamespacedDeployment({ name: "web", namespace: "default" });
  await apps.replaceNamespacedDeploymentStatus({
    name: "web",
    namespace: "default",
    body: {
      ...current,
      status: {
        observedGeneration: current.metadata?.generation,
        replicas: 1,
        updatedReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
      },
    },
  });
  await waitWorkloads(kc, objects, { what: "web", timeoutMs: 10_000 });
});
