// stop and start on a stand-in provider: the order of the roles, and a cluster without machines.
import assert from "node:assert/strict";
import { test } from "node:test";
import { planWith } from "../../test/helpers/fixtures.js";
import { UserError } from "../errors.js";
import type { Machine, MachineProvider } from "../providers/types.js";
import { PLAIN_NODE } from "../render/node-environment.js";
import { startMachines, startOrder, stopCluster, stopOrder } from "./stop-start.js";

// Two control planes and two workers, listed workers first to show the order is not the file's.
const plan = planWith((raw) => {
  raw.nodes = [
    { name: "worker-{n}", role: "worker", count: 2 },
    { name: "master-{n}", role: "control-plane", count: 2 },
  ];
  raw.kubernetes.controlPlaneEndpoint = "192.168.56.11:6443";
});

function provider(state: Machine["state"]) {
  const calls: string[] = [];
  const p: MachineProvider = {
    name: "nspawn",
    nodeEnvironment: PLAIN_NODE,
    create: async () => [],
    list: async (pl) => pl.nodes.map((n) => ({ node: n.name, state })),
    stop: async (_pl, nodes) => {
      calls.push(`stop ${nodes.join(",")}`);
    },
    start: async (_pl, nodes) => {
      calls.push(`start ${nodes.join(",")}`);
    },
    destroy: async () => {},
    logs: async () => "",
  };
  return { p, calls };
}

const opts = (p: MachineProvider) => ({ provider: p, clusterDir: "/nonexistent", log: () => {} });

test("stop: workers first, then the control planes", async () => {
  assert.deepEqual(stopOrder(plan), [
    ["worker-1", "worker-2"],
    ["master-1", "master-2"],
  ]);
  const { p, calls } = provider("running");
  const r = await stopCluster(plan, opts(p));
  assert.deepEqual(calls, ["stop worker-1,worker-2", "stop master-1,master-2"]);
  assert.deepEqual(
    r.nodes.map((n) => [n.node, n.role]),
    [
      ["worker-1", "worker"],
      ["worker-2", "worker"],
      ["master-1", "control-plane"],
      ["master-2", "control-plane"],
    ],
  );
});

test("start: every control plane at once first (etcd's quorum), then the workers", async () => {
  assert.deepEqual(startOrder(plan), [
    ["master-1", "master-2"],
    ["worker-1", "worker-2"],
  ]);
  const { p, calls } = provider("stopped");
  await startMachines(plan, opts(p));
  assert.deepEqual(calls, ["start master-1,master-2", "start worker-1,worker-2"]);
});

test("a cluster without machines is refused with the fix, and nothing is asked of the provider", async () => {
  const { p, calls } = provider("absent");
  await assert.rejects(stopCluster(plan, opts(p)), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /cluster lab has no machines/);
    assert.match(e.hint ?? "", /kubelab up/);
    return true;
  });
  await assert.rejects(startMachines(plan, opts(p)), UserError);
  assert.deepEqual(calls, []);
});

test("a cluster of one control plane only starts in one group", () => {
  const one = planWith((raw) => {
    raw.nodes = [{ name: "solo", role: "control-plane", count: 1 }];
  });
  assert.deepEqual(startOrder(one), [["solo"]]);
  assert.deepEqual(stopOrder(one), [["solo"]]);
});
