// The completion scripts are valid for the real shells: each one parses them (`-n`).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { kubelab } from "../../test/helpers/cli.js";
import { need } from "../../test/helpers/prereq.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { clusterIndexPath, recordCluster } from "../plan/cluster-index.js";

const has = (tool: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};

describe("completion scripts in their shells", () => {
  for (const shell of ["bash", "zsh", "fish"]) {
    it(`${shell} -n accepts kubelab completion ${shell}`, async (t) => {
      if (!need(t, shell, has(shell), `install ${shell} (apt-get install ${shell})`)) return;
      const script = join(await tempDir(t), `kubelab.${shell}`);
      await writeFile(script, (await kubelab("completion", shell)).out);
      assert.doesNotThrow(() => execFileSync(shell, ["-n", script], { stdio: "pipe" }));
    });
  }

  it("bash completes commands, option values and recorded cluster names", async (t) => {
    if (!need(t, "bash", has("bash"))) return;
    const dir = await tempDir(t);
    const script = join(dir, "kubelab.bash");
    await writeFile(script, (await kubelab("completion", "bash")).out);
    await recordCluster(clusterIndexPath({ XDG_STATE_HOME: dir }), {
      name: "lab",
      cwd: dir,
      clusterDir: join(dir, ".kubelab", "lab"),
      provider: "nspawn",
      created: "x",
    });
    const complete = (...words: string[]) =>
      execFileSync(
        "bash",
        [
          "-c",
          `source "$0"; COMP_WORDS=(kubelab "$@"); COMP_CWORD=$#; _kubelab; echo "\${COMPREPLY[*]}"`,
          script,
          ...words,
        ],
        { encoding: "utf8", env: { ...process.env, XDG_STATE_HOME: dir } },
      ).trim();
    assert.match(complete("ge"), /^get$/);
    assert.equal(complete("get", ""), "clusters");
    assert.equal(complete("status", "-o", ""), "text json yaml");
    assert.equal(complete("doctor", "dump", "--o"), "--out");
    assert.equal(complete("status", "--name", ""), "lab");
  });
});
