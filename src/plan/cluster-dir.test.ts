// The cluster directory: `.kubelab/` ignores itself in git as soon as kubelab makes it.
import assert from "node:assert/strict";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../../test/helpers/tmp.js";
import { UserError } from "../errors.js";
import { directoryError, ensureClusterDir, KUBELAB_GITIGNORE, openRunLog } from "./cluster-dir.js";

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

  it("a run log that cannot be written later fails flush with the directory named, not the process", async (t) => {
    const dir = join(await tempDir(t), ".kubelab", "lab");
    const log = await openRunLog(dir, "up");
    // The directory goes away under the run (a full or unmounted disk acts alike).
    await rm(join(dir, "logs"), { recursive: true });
    await writeFile(join(dir, "logs"), "");
    log.write("one");
    log.write("two");
    await assert.rejects(log.flush(), (e: UserError) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /logs is not a directory \(ENOTDIR\)/);
      return true;
    });
  });

  it("directoryError names the directory and the fix for each way it fails", () => {
    const fail = (code: string) =>
      directoryError("/x/logs", "one log per run", Object.assign(new Error(code), { code }));
    assert.match(fail("EEXIST").message, /^\/x\/logs is not a directory/);
    assert.match(fail("EEXIST").hint ?? "", /mv \/x\/logs \/x\/logs\.old/);
    assert.match(fail("ENOSPC").message, /no space left on the disk of \/x\/logs/);
    assert.match(fail("ENOSPC").hint ?? "", /df -h \/x\/logs/);
    assert.match(fail("EACCES").message, /\/x\/logs: cannot write there \(EACCES\)/);
    assert.match(fail("EACCES").hint ?? "", /ls -ld \/x\/logs/);
  });
});
