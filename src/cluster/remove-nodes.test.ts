// Removing nodes that left the file, against a fake API, fake nodes and a recording provider:
// who is asked, the order of the steps, etcd, the machine, known_hosts and the record.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fakeApi } from "../../test/helpers/fake-api.js";
import { FakeRemote, REST } from "../../test/helpers/fake-remote.js";
import { labPlan } from "../../test/helpers/fixtures.js";
import { blob } from "../../test/helpers/host-keys.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { etcdctlArgv } from "../phases/etcd.js";
import type { PhaseContext } from "../phases/phase.js";
import { appliedRecord, leftTheFile, readAppliedNodes, writeAppliedNodes } from "../plan/applied-nodes.js";
import { clusterPaths } from "../plan/cluster-dir.js";
import type { MachineProvider } from "../providers/types.js";
import { setHostKeys } from "../remote/known-hosts.js";
import { removalConsent, removeNodes, strangerNodes } from "./remove-nodes.js";

test("--prune removes without asking; a terminal is asked; without either, a warning names the nodes and --prune", async () => {
  const asked: string[] = [];
  const warned: string[] = [];
  const warn = (l: string) => warned.push(l);
  const answer = (yes: boolean) => async (q: string) => {
    asked.push(q);
    return yes;
  };
  assert.equal(await removalConsent(["worker-2"], { prune: true, confirm: answer(false), warn }), true);
  assert.deepEqual([asked, warned], [[], []]);
  assert.equal(await removalConsent(["worker-2", "master-2"], { confirm: answer(true), warn }), true);
  assert.deepEqual(asked, [
    "worker-2, master-2 are no longer in the cluster file. Drain and remove them (Node object, kubeadm reset, machine)?",
  ]);
  assert.deepEqual(warned, []);
  assert.equal(await removalConsent(["worker-2"], { confirm: answer(false), warn }), false);
  assert.equal(await removalConsent(["worker-2"], { warn }), false);
  const line =
    "worker-2 is no longer in the cluster file but still in the cluster: left as it is; kubelab up --prune drains and removes it";
  assert.deepEqual(warned, [line, line]);
  assert.equal(await removalConsent([], { warn }), false);
  assert.equal(asked.length, 2);
});

test("each node is drained, deleted, taken out of etcd (before its reset stops its member), reset and removed in turn, then forgotten", async (t) => {
  const dir = join(await tempDir(t), ".kubelab", "lab");
  const before = labPlan(2, 2);
  const plan = labPlan(1, 1);
  const record = appliedRecord(before, new Map(), []);
  await writeAppliedNodes(dir, record);
  const knownHosts = clusterPaths(dir).knownHosts;
  for (const [i, ip] of ["192.168.56.11", "192.168.56.12", "192.168.56.14"].entries())
    await setHostKeys(knownHosts, ip, 22, [blob(i)]);
  const steps: string[] = [];
  const { kc } = await fakeApi(t, (req) => {
    const node = decodeURIComponent(req.url.pathname.split("/").pop() ?? "");
    if (req.method === "PATCH") steps.push(`${node}: cordon`);
    if (req.method === "DELETE") steps.push(`${node}: delete Node`);
    if (req.method === "GET") return { status: 200, body: { items: [] } };
    return { status: 200 };
  });
  // kubeadm reset on master-2 could not reach etcd: its member is still listed afterwards.
  let members = [
    "a1, started, master-1, https://192.168.56.11:2380, https://192.168.56.11:2379, false",
    "b2, started, master-2, https://192.168.56.12:2380, https://192.168.56.12:2379, false",
  ];
  const cp = new FakeRemote("master-1")
    .on(etcdctlArgv(["member", "list", "-w", "simple"]), () => ({ stdout: `${members.join("\n")}\n` }))
    .on(etcdctlArgv(["member", "remove", "b2"]), () => {
      steps.push("master-2: etcd member remove b2");
      members = members.slice(0, 1);
      return {};
    });
  const leavingNode = (name: string) =>
    new FakeRemote(name).on(["sh", "-c", REST], { code: 0 }).on(["kubeadm", "reset", "--force"], () => {
      steps.push(`${name}: kubeadm reset`);
      return {};
    });
  const provider = {
    name: "nspawn",
    remove: async (_p: unknown, nodes: readonly string[]) => {
      steps.push(`${nodes.join()}: machine removed`);
    },
  } as unknown as MachineProvider;
  const phase = {
    plan,
    hosts: new Map(),
    facts: new Map(),
    dryRun: false,
    concurrency: 1,
    log: () => {},
    changes: [],
    restart: new Map(),
  } as unknown as PhaseContext;
  const leaving = leftTheFile(plan, record);
  const kept = await removeNodes(leaving, {
    phase,
    provider,
    clusterDir: dir,
    kc,
    controlPlane: cp,
    connect: async (n) => leavingNode(n.name),
    record,
    drainTimeoutMs: 10_000,
  });
  assert.deepEqual(steps, [
    "worker-2: cordon",
    "worker-2: delete Node",
    "worker-2: kubeadm reset",
    "worker-2: machine removed",
    "master-2: cordon",
    "master-2: delete Node",
    "master-2: etcd member remove b2",
    "master-2: kubeadm reset",
    "master-2: machine removed",
  ]);
  assert.deepEqual(
    phase.changes.map((c) => `${c.node}: ${c.what}`),
    [
      "worker-2: drain (evict its pods)",
      "worker-2: delete its Node object",
      "worker-2: kubeadm reset",
      "worker-2: remove the machine",
      "master-2: drain (evict its pods)",
      "master-2: delete its Node object",
      "master-2: remove its etcd member b2",
      "master-2: kubeadm reset",
      "master-2: remove the machine",
    ],
  );
  assert.deepEqual(
    kept.map((n) => n.name),
    ["master-1", "worker-1"],
  );
  assert.deepEqual(await readAppliedNodes(dir), kept);
  assert.deepEqual(
    (await readFile(knownHosts, "utf8")).split("\n").map((l) => l.split(" ")[0]),
    ["192.168.56.11", ""],
    "the removed nodes' host keys are gone",
  );
});

test("an existing host is reset and stays; one that cannot be reached is still taken out of the cluster", async (t) => {
  const dir = await tempDir(t);
  const plan = labPlan(1, 1);
  const record = appliedRecord(labPlan(1, 2), new Map(), []);
  const { kc, requests } = await fakeApi(t, (req) =>
    req.method === "GET" ? { status: 200, body: { items: [] } } : { status: 404 },
  );
  const lines: string[] = [];
  const phase = {
    plan,
    hosts: new Map(),
    facts: new Map(),
    dryRun: false,
    concurrency: 1,
    log: (l: string) => lines.push(l),
    changes: [],
    restart: new Map(),
  } as unknown as PhaseContext;
  const kept = await removeNodes(leftTheFile(plan, record), {
    phase,
    provider: { name: "ssh" } as unknown as MachineProvider,
    clusterDir: dir,
    kc,
    controlPlane: new FakeRemote("master-1"),
    connect: async () => undefined,
    record,
    drainTimeoutMs: 10_000,
  });
  assert.deepEqual(
    kept.map((n) => n.name),
    ["master-1", "worker-1"],
  );
  assert.ok(lines.includes("worker-2: not reachable over SSH: kubeadm reset skipped"));
  assert.ok(lines.includes("worker-2: an existing host: it stays, with Kubernetes reset on it"));
  assert.deepEqual(
    requests.map((r) => r.method),
    ["PATCH", "DELETE"],
    "a Node already gone: nothing drained, the delete's 404 is fine",
  );
});

test("Node objects neither in the file nor made by kubelab are strangers; one that left the file is not", () => {
  const plan = labPlan(1, 1);
  const record = appliedRecord(labPlan(1, 2), new Map(), []);
  assert.deepEqual(strangerNodes(["master-1", "worker-1", "worker-2", "byo-gpu-1"], plan, record), ["byo-gpu-1"]);
});
