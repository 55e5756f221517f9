// Waits against a real kube-apiserver + etcd (test/helpers/apiserver.ts): they finish on the
// real condition and, when they give up, name what is missing.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import { startApiServer } from "../../test/helpers/apiserver.js";
import { kubeConfig, WaitTimeout, waitApiReady, waitNodes } from "./client.js";

test("waitNodes: registration and readiness as the API reports them; a timeout names the nodes", async (t) => {
  const api = await startApiServer(t);
  if (!api) return;
  const kc = kubeConfig(api.kubeconfig);
  await waitApiReady(kc, { timeoutMs: 10_000 });
  const core = kc.makeApiClient(CoreV1Api);

  await assert.rejects(waitNodes(kc, ["n1", "n2"], { timeoutMs: 1_500, intervalMs: 200 }), (e: Error) => {
    assert.ok(e instanceof WaitTimeout);
    assert.match(e.message, /^nodes registered: gave up after 2 s: not registered: n1, n2$/);
    return true;
  });

  for (const name of ["n1", "n2"]) await core.createNode({ body: { metadata: { name } } });
  const nodes = await waitNodes(kc, ["n1", "n2"], { timeoutMs: 5_000 });
  assert.deepEqual(nodes.map((n) => n.metadata?.name).sort(), ["n1", "n2"]);
  await assert.rejects(
    waitNodes(kc, ["n1", "n2"], { ready: true, timeoutMs: 1_000, intervalMs: 200 }),
    /not Ready: n1, n2$/,
  );

  // What kubelet reports once the node is ready, through the status subresource.
  const now = new Date();
  await core.replaceNodeStatus({
    name: "n1",
    body: {
      ...(await core.readNode({ name: "n1" })),
      status: {
        conditions: [
          { type: "Ready", status: "True", reason: "KubeletReady", lastHeartbeatTime: now, lastTransitionTime: now },
        ],
      },
    },
  });
  await assert.rejects(
    waitNodes(kc, ["n1", "n2"], { ready: true, timeoutMs: 1_000, intervalMs: 200 }),
    /not Ready: n2$/,
  );
  assert.equal((await waitNodes(kc, ["n1"], { ready: true, timeoutMs: 5_000 })).length, 2);
});
