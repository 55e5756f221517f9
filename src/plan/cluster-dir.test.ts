// The cluster directory: `.kubelab/` ignores itself in git as soon as kubelab makes it.
import assert from "node:assert/strict";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../../test/helpers/tmp.js";
import { ensureClusterDir, KUBELAB_GITIGNORE, openRunLog } from "./cluster-dir.js";

describe("cluster directory", () => {
  it("is made 0700 with a .gitignore in .kubelab/ that ignores everything", async (t) => {
    const root = await tempDir(t);
    const dir = join(root, ".kubelab", "lab");
    await ensureClusterDir(dir);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const ignore = await readFile(join(root, ".kubelab", ".gitignore"), "utf8");
    assert.equal(ignore, KUBELAB_GITIGNORE);
    assert.match(ignore, /^\*$/m);
  });

  it("a run log makes the .gitignore too (the first thing most commands write)", async (t) => {
    const root = await tempDir(t);
    await openRunLog(join(root, ".kubelab", "lab"), "up");
    assert.match(await readFile(join(root, ".kubelab", ".gitignore"), "utf8"), /^\*$/m);
  });

  it("leaves a .gitignore the user wrote, and writes none outside a .kubelab directory", async (t) => {
    const root = await tempDir(t);
    await mkdir(join(root, ".kubelab"));
    await writeFile(join(root, ".kubelab", ".gitignore"), "mine\n");
    await ensureClusterDir(join(root, ".kubelab", "lab"));
    assert.equal(await readFile(join(root, ".kubelab", ".gitignore"), "utf8"), "mine\n");
    await ensureClusterDir(join(root, "elsewhere", "lab"));
    await assert.rejects(stat(join(root, "elsewhere", ".gitignore")), /ENOENT/);
  });
});
