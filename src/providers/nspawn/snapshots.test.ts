// nspawn snapshots on small stand-in roots in a scratch machines directory: unchanged files
// shared with the snapshot before (hard links on a filesystem without reflinks, when rsync is
// here), restore an independent copy, delete and down removing them, the provider not taking
// .snapshots for a node.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { defaultPlan } from "../../../test/helpers/fixtures.js";
import { tempDir } from "../../../test/helpers/tmp.js";
import { which } from "../host.js";
import { nodePaths } from "./machine.js";
import { nspawnProvider } from "./provider.js";
import { nspawnSnapshots, removeAllSnapshots, snapshotRootfs, snapshotsRoot } from "./snapshots.js";

const plan = defaultPlan();
const nodes = ["master-1", "worker-1"];

async function machines(t: TestContext) {
  const dir = await tempDir(t);
  const was = process.env.KUBELAB_NSPAWN_DIR;
  process.env.KUBELAB_NSPAWN_DIR = dir;
  t.after(() => {
    if (was === undefined) delete process.env.KUBELAB_NSPAWN_DIR;
    else process.env.KUBELAB_NSPAWN_DIR = was;
  });
  for (const n of nodes) {
    const r = nodePaths(plan.name, n).rootfs;
    await mkdir(join(r, "etc/kubelab"), { recursive: true });
    await writeFile(join(r, "etc/os-release"), "ID=debian\n");
    await writeFile(join(r, "etc/kubelab/node.json"), JSON.stringify({ cluster: plan.name, node: n }));
    await writeFile(join(r, "big"), "unchanged ".repeat(1000));
    await writeFile(join(r, "data"), "before");
  }
  const ctx = { clusterDir: dir, log: () => {} };
  return { dir, ctx };
}

// Copying nodes' roots needs root, as the provider does.
const skip = process.getuid?.() !== 0 && "the nspawn provider's snapshots need root";

describe("nspawn snapshots", { skip }, () => {
  it("save copies each node's root beside the machines; restore puts it back exactly", async (t) => {
    const { ctx } = await machines(t);
    const disks = await nspawnSnapshots.save(plan, "s1", nodes, ctx);
    assert.deepEqual(
      disks.map((d) => d.node),
      nodes,
    );
    for (const d of disks) assert.ok((d.bytes ?? 0) > 0 && (d.addedBytes ?? 0) > 0, JSON.stringify(d));
    const r = nodePaths(plan.name, "worker-1").rootfs;
    await writeFile(join(r, "data"), "after");
    await writeFile(join(r, "new-file"), "made after the snapshot");
    await rm(join(r, "big"));
    await nspawnSnapshots.restore(plan, "s1", nodes, ctx);
    assert.equal(await readFile(join(r, "data"), "utf8"), "before");
    assert.equal(existsSync(join(r, "new-file")), false);
    assert.equal(await readFile(join(r, "big"), "utf8"), "unchanged ".repeat(1000));
    // The restored root is a copy: writing it leaves the snapshot as it was.
    await writeFile(join(r, "data"), "written after the restore");
    assert.equal(await readFile(join(snapshotRootfs(plan.name, "s1", "worker-1"), "data"), "utf8"), "before");
    assert.deepEqual(
      (await readdir(nodePaths(plan.name, "worker-1").dir)).sort(),
      ["rootfs"],
      "no .restore or .old left",
    );
  });

  it("a second snapshot shares the files unchanged since the first (rsync --link-dest)", async (t) => {
    if (!which("rsync")) return t.skip("no rsync on this host");
    const { ctx } = await machines(t);
    await nspawnSnapshots.save(plan, "s1", nodes, ctx);
    await writeFile(join(nodePaths(plan.name, "master-1").rootfs, "data"), "changed");
    const disks = await nspawnSnapshots.save(plan, "s2", nodes, ctx);
    const ino = async (snap: string, f: string) =>
      (await stat(join(snapshotRootfs(plan.name, snap, "master-1"), f))).ino;
    assert.equal(await ino("s1", "big"), await ino("s2", "big"));
    assert.notEqual(await ino("s1", "data"), await ino("s2", "data"));
    const m = disks.find((d) => d.node === "master-1");
    assert.ok(m?.addedBytes !== undefined && m.bytes !== undefined && m.addedBytes < m.bytes, JSON.stringify(m));
    assert.deepEqual(await nspawnSnapshots.list(plan, "master-1", ctx), ["s1", "s2"]);
  });

  it("saving over a name replaces it whole; delete removes it", async (t) => {
    const { ctx } = await machines(t);
    await nspawnSnapshots.save(plan, "s1", nodes, ctx);
    await writeFile(join(nodePaths(plan.name, "master-1").rootfs, "data"), "second");
    await nspawnSnapshots.save(plan, "s1", nodes, ctx);
    assert.equal(await readFile(join(snapshotRootfs(plan.name, "s1", "master-1"), "data"), "utf8"), "second");
    assert.deepEqual(await readdir(snapshotsRoot(plan.name)), ["s1"]);
    await nspawnSnapshots.delete(plan, "s1", nodes, ctx);
    assert.equal(existsSync(snapshotsRoot(plan.name)), false);
  });

  it("restore refuses a snapshot without a node's copy before touching any node", async (t) => {
    const { ctx } = await machines(t);
    await nspawnSnapshots.save(plan, "s1", ["master-1"], ctx);
    await assert.rejects(nspawnSnapshots.restore(plan, "s1", nodes, ctx), /snapshot s1 has no copy of worker-1/);
  });

  it("the provider does not take .snapshots for a node, and removing every snapshot leaves the machines", async (t) => {
    const { ctx } = await machines(t);
    await nspawnSnapshots.save(plan, "s1", nodes, ctx);
    const listed = (await nspawnProvider.list(plan, ctx)).map((m) => m.node);
    assert.ok(!listed.includes(".snapshots"), listed.join(","));
    await removeAllSnapshots(plan.name);
    assert.equal(existsSync(snapshotsRoot(plan.name)), false);
    assert.equal(existsSync(nodePaths(plan.name, "master-1").rootfs), true);
  });
});
