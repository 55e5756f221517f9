// Workload readiness against a real kube-apiserver + etcd. No controller manager or kubelet
// runs there, so the test writes what they would: pods, their status, events, and the
// Deployment's status; the wait must judge and explain from exactly those objects.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1Deployment,
} from "@kubernetes/client-node";
import { startApiServer } from "../../test/helpers/apiserver.js";
import { fetchRaw, kubeConfig } from "./client.js";
import { waitWorkloads } from "./ready.js";
import { listWatch } from "./watch.js";

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

/** writeReady writes what the deployment controller reports for a finished rollout. */
async function writeReady(kc: KubeConfig, name: string): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  const current = await apps.readNamespacedDeployment({ name, namespace: "default" });
  await apps.replaceNamespacedDeploymentStatus({
    name,
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
}

/** within rejects when `p` has not settled in `ms` (a generous bound: a hang fails the test, not the run). */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      p,
      sleep(ms, undefined, { signal: timer.signal }).then(() => {
        throw new Error(`${what}: nothing after ${ms / 1000} s`);
      }),
    ]);
  } finally {
    timer.abort();
  }
}

test("the wait follows a watch: a status written after its list and watch began ends it, with no re-list in between", async (t) => {
  const api = await startApiServer(t);
  if (!api) return;
  const kc = kubeConfig(api.kubeconfig);
  const apps = kc.makeApiClient(AppsV1Api);
  await apps.createNamespacedDeployment({ namespace: "default", body: deployment });

  // The safety re-list is due only after 10 minutes, the deadline after one: only an event of
  // the watch can end this wait once the status is written.
  const trace: string[] = [];
  let watching = () => {};
  const started = new Promise<void>((resolve) => {
    watching = resolve;
  });
  let finished = false;
  const wait = waitWorkloads(kc, [deployment as never], {
    what: "web",
    timeoutMs: 60_000,
    recheckMs: 600_000,
    trace: (line) => {
      trace.push(line);
      if (line.startsWith("watch ")) watching();
    },
  });
  wait.then(
    () => {
      finished = true;
    },
    () => {},
  );
  await Promise.race([started, wait]);
  assert.equal(finished, false, "the wait ended while the Deployment was not ready");
  await writeReady(kc, "web");
  await wait;

  const path = "/apis/apps/v1/namespaces/default/deployments";
  // One list, one watch from that list's resourceVersion, and the watch's event ended the wait
  // (not the deadline, which would say "wait ended: timeout").
  assert.equal(trace.length, 4, trace.join("\n"));
  const listed = trace[0]?.match(/^list (\S+) at (\d+)$/);
  assert.deepEqual(
    [listed?.[1], ...trace.slice(1)],
    [path, `watch ${path} from ${listed?.[2]}`, "MODIFIED web", "wait ended: ready"],
  );

  // The caller's signal ends a wait (and its watch) at once, with the caller's reason.
  await apps.createNamespacedDeployment({
    namespace: "default",
    body: { ...deployment, metadata: { name: "stuck", namespace: "default" } },
  });
  const stop = new AbortController();
  const aborted = waitWorkloads(kc, [{ ...deployment, metadata: { name: "stuck", namespace: "default" } } as never], {
    timeoutMs: 60_000,
    recheckMs: 600_000,
    signal: stop.signal,
    trace: (line) => {
      if (line.startsWith("watch ")) stop.abort(new Error("cancelled by the test"));
    },
  });
  await assert.rejects(aborted, /^Error: cancelled by the test$/);
});

test("a watch whose resourceVersion expired (410 Gone from the API server) lists again and watches from the new list", async (t) => {
  const api = await startApiServer(t);
  if (!api) return;
  const kc = kubeConfig(api.kubeconfig);
  // A custom resource's watch cache starts when its CRD does, after the API server's own
  // writes: resourceVersion 1 is older than anything it holds, and it answers 410 Gone.
  await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({
    body: {
      metadata: { name: "widgets.example.com" },
      spec: {
        group: "example.com",
        scope: "Namespaced",
        names: { plural: "widgets", singular: "widget", kind: "Widget" },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: "object", x_kubernetes_preserve_unknown_fields: true } },
          },
        ],
      },
    },
  });
  const path = "/apis/example.com/v1/namespaces/default/widgets";
  await within(
    30_000,
    "the Widget CRD served",
    (async () => {
      while ((await fetchRaw(kc, path)).status !== 200) await sleep(100);
    })(),
  );
  const widgets = kc.makeApiClient(CustomObjectsApi);
  const widget = (name: string) => ({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name } });
  const create = (name: string) =>
    widgets.createNamespacedCustomObject({
      group: "example.com",
      version: "v1",
      namespace: "default",
      plural: "widgets",
      body: widget(name),
    });
  await create("w0");

  const seen: string[] = [];
  let rewatching = () => {};
  const watchingAgain = new Promise<void>((resolve) => {
    rewatching = resolve;
  });
  let sawW1 = () => {};
  const w1 = new Promise<void>((resolve) => {
    sawW1 = resolve;
  });
  const stop = new AbortController();
  t.after(() => stop.abort());
  const following = listWatch(
    kc,
    path,
    {
      onList: (items) => seen.push(`onList ${items.map((i) => i.metadata?.name).join(",")}`),
      onEvent: (type, o) => {
        seen.push(`onEvent ${type} ${o.metadata?.name}`);
        if (o.metadata?.name === "w1") sawW1();
      },
    },
    {
      signal: stop.signal,
      firstResourceVersion: "1",
      // Neither the safety re-list nor the pause after a failure comes within the test: only
      // the expiry leads to the second list.
      resyncMs: 600_000,
      retryMs: 600_000,
      trace: (line) => {
        seen.push(line);
        if (/^watch \S+ from (?!1$)\d+$/.test(line)) rewatching();
      },
    },
  );
  await within(30_000, "a watch from a fresh list", watchingAgain);
  await create("w1");
  await within(30_000, "the watch's ADDED w1", w1);
  stop.abort();
  await following;

  const rv = (line: string | undefined) => line?.match(/ at (\d+)$/)?.[1];
  const [first, second] = [rv(seen[0]), rv(seen[4])];
  assert.ok(first && second && Number(second) > 1, seen.join("\n"));
  assert.deepEqual(seen, [
    `list ${path} at ${first}`,
    "onList w0",
    `watch ${path} from 1`,
    seen[3]?.match(/^expired: too old resource version: 1 \(\d+\)$/)
      ? seen[3]
      : "expired: too old resource version: 1 (…)",
    `list ${path} at ${second}`,
    "onList w0",
    `watch ${path} from ${second}`,
    "ADDED w1",
    "onEvent ADDED w1",
  ]);
});
