// The cluster lock on a temp directory: one holder at a time, stale locks taken over, and the
// lock gone however the work under it ends.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { tempDir } from "../../test/helpers/tmp.js";
import { ClusterBusy, lockCluster, withClusterLock } from "./cluster-lock.js";

const execFileP = promisify(execFile);
const opts = { cluster: "lab", command: "up" };

describe("the cluster lock", () => {
  it("a second taker is told who holds it, and gets it once released", async (t) => {
    const dir = join(await tempDir(t), ".kubelab", "lab");
    const first = await lockCluster(dir, opts);
    const held = JSON.parse(await readFile(join(dir, "lock"), "utf8"));
    assert.equal(held.pid, process.pid);
    assert.equal(held.command, "up");
    assert.match(held.since, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const busy = await lockCluster(dir, { ...opts, command: "down" }).catch((e: unknown) => e);
    assert.ok(busy instanceof ClusterBusy);
    assert.equal(busy.exitCode, 1);
    assert.ok(busy.message.startsWith(`cluster lab is busy (pid ${process.pid}, since ${held.since}): `), busy.message);
    assert.match(busy.message, /kubelab up is working on it/);
    assert.match(busy.hint ?? "", new RegExp(`kill ${process.pid}`));

    await first.release();
    await first.release(); // twice is harmless
    assert.equal(existsSync(join(dir, "lock")), false);
    const second = await lockCluster(dir, opts);
    await second.release();
  });

  it("takes over the lock of a process that is gone, with a note", async (t) => {
    const dir = await tempDir(t);
    // A pid that surely names no process: one that just ended.
    const child = await execFileP(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
    const dead = Number(child.stdout);
    await writeFile(join(dir, "lock"), JSON.stringify({ pid: dead, since: "2026-01-01T00:00:00Z", command: "up" }));
    const notes: string[] = [];
    const lock = await lockCluster(dir, { ...opts, note: (l) => notes.push(l) });
    assert.deepEqual(notes, [
      `took over the lock of cluster lab left by kubelab up (pid ${dead}, since 2026-01-01T00:00:00Z): process ${dead} is no longer running`,
    ]);
    assert.equal(JSON.parse(await readFile(lock.path, "utf8")).pid, process.pid);
    await lock.release();
  });

  it("takes over a lock from before the last boot even when its pid is in use now", async (t) => {
    const dir = await tempDir(t);
    const old = { pid: process.pid, since: "2026-01-01T00:00:00Z", command: "down", bootId: "earlier-boot" };
    await writeFile(join(dir, "lock"), JSON.stringify(old));
    const notes: string[] = [];
    const lock = await lockCluster(dir, { ...opts, bootId: "this-boot", note: (l) => notes.push(l) });
    assert.match(notes[0] ?? "", /before the host last booted$/);
    await lock.release();
  });

  it("a live holder of the same boot keeps it", async (t) => {
    const dir = await tempDir(t);
    const other = { pid: 4242, since: "2026-01-01T00:00:00Z", command: "image bake", bootId: "this-boot" };
    await writeFile(join(dir, "lock"), JSON.stringify(other));
    await assert.rejects(lockCluster(dir, { ...opts, bootId: "this-boot", alive: () => true }), ClusterBusy);
    assert.deepEqual(JSON.parse(await readFile(join(dir, "lock"), "utf8")), other);
  });

  it("is released when the work under it fails", async (t) => {
    const dir = await tempDir(t);
    await assert.rejects(
      withClusterLock(dir, opts, async () => {
        assert.equal(existsSync(join(dir, "lock")), true);
        throw new Error("phase failed");
      }),
      /phase failed/,
    );
    assert.equal(existsSync(join(dir, "lock")), false);
  });

  it("release leaves a lock that is no longer this one", async (t) => {
    const dir = await tempDir(t);
    const lock = await lockCluster(dir, opts);
    const other = JSON.stringify({ pid: 4242, since: "2026-01-01T00:00:00Z", command: "up" });
    await writeFile(lock.path, other);
    await lock.release();
    assert.equal(await readFile(lock.path, "utf8"), other);
  });
});
