// What `kubelab start` names when the cluster does not come back: nodes with their kubelet's
// last lines, pods with why they are not Ready.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { FakeRemote } from "../../test/helpers/fake-remote.js";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import { comeBackReport, kubeletTails, notReadyNodes, notReadyPods } from "./come-back.js";

const node = (name: string, status: string, reason?: string, message?: string): V1Node => ({
  metadata: { name },
  status: { conditions: [{ type: "Ready", status, reason, message }] },
});

test("notReadyNodes: not registered, NotReady with the condition's words; Ready ones are left out", () => {
  const plan = defaultPlan();
  const r = notReadyNodes(plan, [
    node("master-1", "True"),
    node("worker-1", "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."),
  ]);
  assert.deepEqual(r, [
    { node: "worker-1", why: "Ready is Unknown (NodeStatusUnknown: Kubelet stopped posting node status.)" },
    { node: "worker-2", why: "not registered with the API server" },
  ]);
});

test("notReadyPods: one line per pod that is not Ready and not finished, with why", () => {
  const pods: V1Pod[] = [
    {
      metadata: { name: "web-1", namespace: "shop" },
      spec: { nodeName: "worker-2", containers: [] },
      status: {
        phase: "Pending",
        conditions: [{ type: "Ready", status: "False" }],
        containerStatuses: [
          {
            name: "web",
            ready: false,
            image: "",
            imageID: "",
            restartCount: 3,
            state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 40s" } },
          },
        ],
      },
    },
    {
      metadata: { name: "ok", namespace: "shop" },
      status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
    },
    { metadata: { name: "job-x", namespace: "shop" }, status: { phase: "Succeeded" } },
  ];
  assert.deepEqual(notReadyPods(pods), ["shop/web-1 on worker-2: Pending; web: CrashLoopBackOff (back-off 40s)"]);
});

test("kubeletTails reads the journal of each node that did not come back", async () => {
  const worker = new FakeRemote("worker-1").on(["journalctl", "-u", "kubelet", "--no-pager", "-o", "cat", "-n", "15"], {
    stdout: 'E1207 "Failed to connect to apiserver"\n',
  });
  const r = await kubeletTails(
    [
      { node: "worker-1", why: "Ready is Unknown" },
      { node: "worker-2", why: "not registered with the API server" },
    ],
    new Map([["worker-1", worker]]),
  );
  assert.deepEqual(r, [
    { node: "worker-1", why: "Ready is Unknown", kubelet: 'E1207 "Failed to connect to apiserver"' },
    { node: "worker-2", why: "not registered with the API server", kubelet: "(no connection to the node)" },
  ]);
});

test("comeBackReport: what was waited for, each node with its kubelet's lines, each pod", () => {
  const text = comeBackReport({
    waited: "nodes Ready: gave up after 300 s: not Ready: worker-1",
    nodes: [{ node: "worker-1", why: "Ready is Unknown", kubelet: "line one\nline two" }],
    pods: ["shop/web-1 on worker-2: Pending; web: CrashLoopBackOff"],
  });
  assert.equal(
    text,
    [
      "the cluster did not come back: nodes Ready: gave up after 300 s: not Ready: worker-1",
      "node worker-1: Ready is Unknown",
      "  --- kubelet's last lines on worker-1:",
      "  line one",
      "  line two",
      "pods not Ready (1):",
      "  shop/web-1 on worker-2: Pending; web: CrashLoopBackOff",
    ].join("\n"),
  );
  const many = comeBackReport({ waited: "w", nodes: [], pods: Array.from({ length: 23 }, (_, i) => `ns/p${i}`) });
  assert.match(many, /\.\.\. and 3 more \(kubectl get pods -A\)$/);
});
