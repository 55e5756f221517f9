// The cluster index: where it lives, what recording and forgetting a cluster do to it.
import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../../test/helpers/tmp.js";
import {
  type ClusterEntry,
  clusterIndexPath,
  forgetCluster,
  readClusterIndex,
  recordCluster,
} from "./cluster-index.js";

const entry = (over: Partial<ClusterEntry> = {}): ClusterEntry => ({
  name: "lab",
  file: "/labs/a/kubelab.yaml",
  cwd: "/labs/a",
  clusterDir: "/labs/a/.kubelab/lab",
  provider: "nspawn",
  created: "2026-01-01T00:00:00.000Z",
  ...over,
});

describe("cluster index", () => {
  it("lives under XDG_STATE_HOME, else ~/.local/state; a relative XDG_STATE_HOME is ignored", () => {
    assert.equal(clusterIndexPath({ XDG_STATE_HOME: "/s", HOME: "/h" }), "/s/kubelab/clusters.json");
    assert.equal(clusterIndexPath({ HOME: "/h" }), "/h/.local/state/kubelab/clusters.json");
    assert.equal(clusterIndexPath({ XDG_STATE_HOME: "rel", HOME: "/h" }), "/h/.local/state/kubelab/clusters.json");
  });

  it("is empty before the first cluster, and written private (file 0600, directory 0700)", async (t) => {
    const path = join(await tempDir(t), "state", "kubelab", "clusters.json");
    assert.deepEqual(await readClusterIndex(path), []);
    await recordCluster(path, entry());
    assert.deepEqual(await readClusterIndex(path), [entry()]);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(dirname(path))).mode & 0o777, 0o700);
  });

  it("recording again keeps the creation time; the same name from elsewhere replaces the entry", async (t) => {
    const path = join(await tempDir(t), "clusters.json");
    await recordCluster(path, entry());
    await recordCluster(path, entry({ created: "2026-02-02T00:00:00.000Z" }));
    assert.equal((await readClusterIndex(path))[0]?.created, "2026-01-01T00:00:00.000Z");
    const moved = entry({ clusterDir: "/labs/b/.kubelab/lab", created: "2026-03-03T00:00:00.000Z" });
    await recordCluster(path, moved);
    assert.deepEqual(await readClusterIndex(path), [moved]);
  });

  it("forgetting removes the entry of that cluster directory only", async (t) => {
    const path = join(await tempDir(t), "clusters.json");
    await recordCluster(path, entry());
    await recordCluster(path, entry({ name: "other", clusterDir: "/labs/a/.kubelab/other" }));
    assert.equal(await forgetCluster(path, "lab", "/labs/b/.kubelab/lab"), false);
    assert.equal(await forgetCluster(path, "lab", "/labs/a/.kubelab/lab"), true);
    assert.deepEqual(
      (await readClusterIndex(path)).map((c) => c.name),
      ["other"],
    );
  });

  it("a damaged index is a user error naming the file and the fix", async (t) => {
    const path = join(await tempDir(t), "clusters.json");
    await writeFile(path, "{ not json");
    await assert.rejects(readClusterIndex(path), (e: Error & { hint?: string }) => {
      assert.match(e.message, /clusters\.json is damaged/);
      assert.match(e.hint ?? "", /rm /);
      return true;
    });
    assert.equal(await readFile(path, "utf8"), "{ not json");
  });
});
