// The record of applied nodes: written and read back, what left the file, a record kubelab cannot read.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { labPlan } from "../../test/helpers/fixtures.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { UserError } from "../errors.js";
import { type AppliedNode, appliedRecord, leftTheFile, readAppliedNodes, writeAppliedNodes } from "./applied-nodes.js";
import { clusterPaths } from "./cluster-dir.js";

const login = (host: string) => ({ host, port: 22, user: "root", privateKeyPath: "/k/id_ed25519" });

test("the record keeps each node's role, address and login; an absent record is empty", async (t) => {
  const dir = join(await tempDir(t), ".kubelab", "lab");
  assert.deepEqual(await readAppliedNodes(dir), []);
  const plan = labPlan(2, 2);
  const record = appliedRecord(plan, new Map([["worker-1", login("10.0.0.5")]]), []);
  await writeAppliedNodes(dir, record);
  const back = await readAppliedNodes(dir);
  assert.deepEqual(back, record);
  assert.deepEqual(
    back.map((n) => `${n.name} ${n.role} ${n.ip} ${n.ssh?.host ?? "-"}`),
    [
      "master-1 control-plane 192.168.56.11 -",
      "master-2 control-plane 192.168.56.12 -",
      "worker-1 worker 192.168.56.13 10.0.0.5",
      "worker-2 worker 192.168.56.14 -",
    ],
  );
  assert.match(await readFile(clusterPaths(dir).appliedNodes, "utf8"), /^\{\n {2}"version": 1,/);
});

test("nodes that left the file stay recorded until removed, workers listed before control planes", () => {
  const before: AppliedNode[] = appliedRecord(labPlan(2, 2), new Map([["worker-2", login("192.168.56.14")]]), []);
  const smaller = labPlan(1, 1);
  assert.deepEqual(
    leftTheFile(smaller, before).map((n) => n.name),
    ["worker-2", "master-2"],
  );
  const next = appliedRecord(smaller, new Map(), before);
  assert.deepEqual(
    next.map((n) => n.name),
    ["master-1", "worker-1", "worker-2", "master-2"],
  );
  // The login of a node that left is kept: the file no longer says how to reach it.
  assert.deepEqual(next.find((n) => n.name === "worker-2")?.ssh, login("192.168.56.14"));
  assert.deepEqual(leftTheFile(labPlan(2, 2), before), []);
});

test("a record kubelab cannot read is a UserError naming it and the fix", async (t) => {
  const dir = await tempDir(t);
  await writeFile(clusterPaths(dir).appliedNodes, '{"version": 1, "nodes": [{"name": "x"}]}');
  const e = await readAppliedNodes(dir).catch((err: unknown) => err);
  assert.ok(e instanceof UserError);
  assert.match(e.message, /nodes\.json is not a record of nodes kubelab can read \(a node without name, role or ip/);
  assert.match(e.hint ?? "", /^move it away \(mv .*nodes\.json .*nodes\.json\.old\)/);
});
