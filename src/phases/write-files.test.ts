// Write node files against fake nodes: only files that differ from what the plan renders for
// the node (as its facts describe it) are written, and a changed containerd config marks
// containerd for a restart.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fakeCluster, freshNode, preparedNode } from "../../test/helpers/fake-node.js";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import { HostsError } from "../remote/hosts.js";
import { CONTAINERD_CONFIG_PATH } from "../render/containerd.js";
import { KUBEADM_JOIN_PATH } from "../render/kubeadm.js";
import { PLAIN_NODE } from "../render/node-environment.js";
import { mergeHosts, renderNodeFiles } from "../render/node-files.js";
import { writeFilesPhase } from "./write-files.js";

const plan = defaultPlan();

const FRESH_CHANGES = [
  "update /etc/hosts",
  `write ${CONTAINERD_CONFIG_PATH}`,
  "write /etc/default/kubelet",
  `write ${KUBEADM_JOIN_PATH}`,
].map((what) => ({ node: "worker-1", what }));

test("prepared nodes get no file written and nothing to restart", async () => {
  const c = await fakeCluster(plan);
  await writeFilesPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, []);
  assert.equal(c.ctx.restart.size, 0);
  assert.deepEqual(c.touched(), []);
});

test("a fresh node gets exactly its rendered files, /etc/hosts merged into its own", async () => {
  const c = await fakeCluster(plan, { "worker-1": freshNode() });
  await writeFilesPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, FRESH_CHANGES);
  const worker = c.node("worker-1");
  assert.deepEqual(worker.commands(), []);
  assert.deepEqual(worker.writes(), ["/etc/hosts", CONTAINERD_CONFIG_PATH, "/etc/default/kubelet", KUBEADM_JOIN_PATH]);
  const hosts = mergeHosts(freshNode().files["/etc/hosts"] ?? "", plan);
  assert.equal(worker.files.get("/etc/hosts"), hosts);
  assert.match(hosts, /^127\.0\.1\.1\tdebian$/m, "the node's own lines are kept");
  assert.match(hosts, new RegExp(`^# BEGIN kubelab ${plan.name}$`, "m"));
  // After the OS phase's two files and /etc/hosts: containerd, kubelet, kubeadm.
  for (const f of renderNodeFiles(plan, "worker-1", PLAIN_NODE).slice(3))
    assert.equal(worker.files.get(f.path), f.content, f.path);
  const modes = worker.calls.flatMap((call) => (call.kind === "writeFile" ? [[call.path, call.mode]] : []));
  assert.deepEqual(
    modes,
    renderNodeFiles(plan, "worker-1", PLAIN_NODE)
      .slice(2)
      .map((f) => [f.path, f.mode]),
    "each with its rendered mode",
  );
  assert.deepEqual(c.ctx.restart.get("worker-1"), new Set(["containerd"]));
  assert.deepEqual(c.touched(), ["worker-1"]);
});

test("a node that is a container on a cgroup v1 host gets the files such nodes need", async () => {
  const facts = { cgroup: "v1" as const, container: "systemd-nspawn" };
  const c = await fakeCluster(plan, { "master-1": { ...freshNode(), ...facts } });
  await writeFilesPhase.run(c.ctx);
  const want = renderNodeFiles(plan, "master-1", { container: true, cgroupV1: true });
  const master = c.node("master-1");
  for (const f of want.slice(3)) assert.equal(master.files.get(f.path), f.content, f.path);
  assert.notEqual(want[3]?.content, renderNodeFiles(plan, "master-1", PLAIN_NODE)[3]?.content, "the options matter");
  // Such a node that is already prepared as one gets nothing.
  const again = await fakeCluster(plan, { "master-1": preparedNode(plan, "master-1", facts) });
  await writeFilesPhase.run(again.ctx);
  assert.deepEqual(again.ctx.changes, []);
});

test("only the file that differs is written; the containerd config alone marks a restart", async () => {
  const prepared = preparedNode(plan, "worker-2");
  const c = await fakeCluster(plan, {
    "worker-2": { ...prepared, files: { ...prepared.files, "/etc/default/kubelet": "KUBELET_EXTRA_ARGS=\n" } },
  });
  await writeFilesPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, [{ node: "worker-2", what: "update /etc/default/kubelet" }]);
  assert.equal(c.ctx.restart.size, 0);
});

test("a dry run records the same changes and writes nothing", async () => {
  const c = await fakeCluster(plan, { "worker-1": freshNode() }, { dryRun: true });
  await writeFilesPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, FRESH_CHANGES);
  assert.deepEqual(c.touched(), []);
});

test("a node whose facts were not gathered is refused, named, before anything is written", async () => {
  const c = await fakeCluster(plan, { "worker-1": freshNode() });
  c.ctx.facts.delete("worker-1");
  await assert.rejects(writeFilesPhase.run(c.ctx), (e: Error) => {
    assert.ok(e instanceof HostsError);
    assert.match(e.message, /^failed on 1 of 3 hosts:\n - worker-1: no connection or facts \(gather facts first\)\n$/);
    return true;
  });
  assert.deepEqual(c.node("worker-1").calls, []);
});
