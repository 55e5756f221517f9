// up's first steps with a stand-in provider: nothing here reaches a machine.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import { recordingStatus } from "../../test/helpers/recording-status.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { upstreamSource } from "../artifacts/package-source.js";
import { directoryStore } from "../artifacts/store.js";
import type { Status } from "../phases/phase.js";
import { readClusterIndex } from "../plan/cluster-index.js";
import type { Machine, MachineProvider } from "../providers/types.js";
import { PLAIN_NODE } from "../render/node-environment.js";
import { up } from "./up.js";

function provider(create: () => Promise<Machine[]>): MachineProvider & { created: number } {
  const p = {
    name: "ssh" as const,
    nodeEnvironment: PLAIN_NODE,
    created: 0,
    list: async (plan: { nodes: readonly { name: string }[] }) =>
      plan.nodes.map((n) => ({ node: n.name, state: "absent" as const })),
    create: async () => {
      p.created++;
      return create();
    },
    stop: async () => {},
    start: async () => {},
    destroy: async () => {},
    logs: async () => "",
  };
  return p;
}

const options = (p: MachineProvider, status: Status, dryRun: boolean) => {
  const plan = defaultPlan();
  return {
    plan,
    opts: {
      provider: p,
      packages: upstreamSource(plan, directoryStore("/nonexistent")),
      clusterDir: "/nonexistent/.kubelab/lab",
      dryRun,
      log: () => {},
      status,
    },
  };
};

test("a dry run with machines to create reports them and creates nothing", async () => {
  const p = provider(async () => []);
  const status = recordingStatus();
  const { plan, opts } = options(p, status, true);
  const r = await up(plan, opts);
  assert.deepEqual(r.wouldCreate, ["master-1", "worker-1", "worker-2"]);
  assert.equal(r.changes.length, 3);
  assert.equal(p.created, 0);
  assert.deepEqual(status.lines, []);
});

test("creating the machines is one step that ends failed when the provider fails", async () => {
  const p = provider(async () => {
    throw new Error("no hypervisor");
  });
  const status = recordingStatus();
  const { plan, opts } = options(p, status, false);
  await assert.rejects(up(plan, opts), /no hypervisor/);
  assert.deepEqual(status.lines, [
    "start Create machines (master-1, worker-1, worker-2) [master-1,worker-1,worker-2]",
    "failed",
  ]);
});

test("the cluster is recorded in the index once its machines exist, not before and not in a dry run", async (t) => {
  const index = join(await tempDir(t), "clusters.json");
  const record = { index, file: "/labs/a/kubelab.yaml", cwd: "/labs/a" };
  const failing = provider(async () => {
    throw new Error("no hypervisor");
  });
  const a = options(failing, recordingStatus(), false);
  await assert.rejects(up(a.plan, { ...a.opts, record }), /no hypervisor/);
  const dry = options(
    provider(async () => []),
    recordingStatus(),
    true,
  );
  await up(dry.plan, { ...dry.opts, record });
  assert.deepEqual(await readClusterIndex(index), []);
  // Machines without an address: up stops at connecting, after recording them.
  const made = provider(async () => a.plan.nodes.map((n) => ({ node: n.name, state: "running" as const })));
  const b = options(made, recordingStatus(), false);
  await assert.rejects(up(b.plan, { ...b.opts, record }));
  const [entry] = await readClusterIndex(index);
  assert.deepEqual(
    { ...entry, created: "" },
    {
      name: "lab",
      file: "/labs/a/kubelab.yaml",
      cwd: "/labs/a",
      clusterDir: "/nonexistent/.kubelab/lab",
      provider: b.plan.provider.name,
      created: "",
    },
  );
});
