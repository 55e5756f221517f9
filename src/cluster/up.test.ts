// up's first steps with a stand-in provider: nothing here reaches a machine.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import { recordingStatus } from "../../test/helpers/recording-status.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { upstreamSource } from "../artifacts/package-source.js";
import { directoryStore } from "../artifacts/store.js";
import { UserError } from "../errors.js";
import type { Status } from "../phases/phase.js";
import { appliedRecord, readAppliedNodes, writeAppliedNodes } from "../plan/applied-nodes.js";
import { readClusterIndex } from "../plan/cluster-index.js";
import type { Plan } from "../plan/types.js";
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
  const clusterDir = join(await tempDir(t), ".kubelab", "lab");
  await assert.rejects(up(b.plan, { ...b.opts, clusterDir, record }));
  const [entry] = await readClusterIndex(index);
  assert.deepEqual(
    { ...entry, created: "" },
    {
      name: "lab",
      file: "/labs/a/kubelab.yaml",
      cwd: "/labs/a",
      clusterDir,
      provider: b.plan.provider.name,
      created: "",
    },
  );
});

/** A cluster directory whose record has the default lab and a worker-3 the file no longer has. */
async function recordedWithWorker3(t: Parameters<typeof tempDir>[0]): Promise<string> {
  const dir = join(await tempDir(t), ".kubelab", "lab");
  const plan = defaultPlan();
  const worker3 = { ...plan.nodes[2], name: "worker-3", ip: "192.168.56.14" } as Plan["nodes"][number];
  await writeAppliedNodes(dir, appliedRecord({ ...plan, nodes: [...plan.nodes, worker3] }, new Map(), []));
  return dir;
}

test("a dry run names the nodes that left the file: to remove, and as changes only with --prune", async (t) => {
  const clusterDir = await recordedWithWorker3(t);
  const warned: string[] = [];
  const { plan, opts } = options(
    provider(async () => []),
    recordingStatus(),
    true,
  );
  const r = await up(plan, { ...opts, clusterDir, warn: (l) => warned.push(l) });
  assert.deepEqual(r.toRemove, ["worker-3"]);
  assert.deepEqual(r.removed, []);
  assert.ok(!r.changes.some((c) => c.node === "worker-3"));
  assert.deepEqual(warned, [
    "worker-3: no longer in the cluster file, to remove: kubelab up --prune would drain and remove it",
  ]);
  const pruned = await up(plan, { ...opts, clusterDir, prune: true });
  assert.deepEqual(pruned.toRemove, ["worker-3"]);
  assert.deepEqual(
    pruned.changes.filter((c) => c.node === "worker-3").map((c) => c.what),
    ["drain and remove (no longer in the cluster file)"],
  );
});

test("without --prune and nobody to ask, a node that left the file stays, recorded, with a warning", async (t) => {
  const clusterDir = await recordedWithWorker3(t);
  const warned: string[] = [];
  const made = provider(async () => defaultPlan().nodes.map((n) => ({ node: n.name, state: "running" as const })));
  const { plan, opts } = options(made, recordingStatus(), false);
  // Machines without an address: up stops at connecting, once the record is written.
  await assert.rejects(up(plan, { ...opts, clusterDir, warn: (l) => warned.push(l) }));
  assert.deepEqual(warned, [
    "worker-3 is no longer in the cluster file but still in the cluster: left as it is; kubelab up --prune drains and removes it",
  ]);
  assert.deepEqual(
    (await readAppliedNodes(clusterDir)).map((n) => n.name),
    ["master-1", "worker-1", "worker-2", "worker-3"],
  );
});

test("a file whose first control plane is not the cluster's is refused before any machine is looked at", async (t) => {
  const clusterDir = await recordedWithWorker3(t);
  const p = provider(async () => []);
  let listed = 0;
  const counting = {
    ...p,
    list: async (...args: Parameters<typeof p.list>) => {
      listed++;
      return p.list(...args);
    },
  };
  const { opts } = options(counting, recordingStatus(), false);
  const plan = defaultPlan();
  const renamed = { ...plan, nodes: plan.nodes.map((n) => (n.name === "master-1" ? { ...n, name: "master-9" } : n)) };
  await assert.rejects(up(renamed, { ...opts, clusterDir, prune: true }), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /^removing master-1 would take the last control plane of cluster lab/);
    return true;
  });
  assert.equal(listed, 0);
  assert.equal(p.created, 0);
});

test("a stopped machine of a node that left the file is not one to create", async () => {
  const p = provider(async () => []);
  const { plan, opts } = options(
    {
      ...p,
      list: async (pl: Plan) => [
        ...pl.nodes.map((n) => ({ node: n.name, state: "absent" as const })),
        { node: "worker-3", state: "stopped" as const },
      ],
    },
    recordingStatus(),
    true,
  );
  const r = await up(plan, opts);
  assert.deepEqual(r.wouldCreate, ["master-1", "worker-1", "worker-2"]);
});
