// A failing command that keeps a run log: the error is in the log, and its path is printed with it.
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { kubelab } from "../../test/helpers/cli.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";

describe("run log of a failed command", () => {
  it("up with a broken bundle: the printed log path holds the error", async (t) => {
    const dir = await tempDir(t);
    // The cluster file in the temp dir: the run log goes beside it, not into the checkout.
    const file = join(dir, "kubelab.yaml");
    await writeFile(file, DEFAULT_CLUSTER_YAML);
    await mkdir(join(dir, "bundle"));
    await writeFile(join(dir, "bundle", "bundle.json"), "not json");
    const r = await kubelab("up", "-f", file, "--bundle", join(dir, "bundle"));
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /error: .*bundle\.json is not JSON/);
    const path = /^ {2}log: (.+)$/m.exec(r.err)?.[1];
    assert.ok(path, `no log path in:\n${r.err}`);
    assert.ok(path.startsWith(join(dir, ".kubelab", "lab", "logs")), path);
    assert.match(await readFile(path, "utf8"), /error: .*bundle\.json is not JSON/);
  });
});
