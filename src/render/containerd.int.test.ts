// The rendered containerd config loaded by real containerd (2.x, and Debian's 1.6): every
// setting kubelab writes is in `config dump`, and containerd 2 finds no unknown key.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { promisify } from "node:util";
import { parse as parseToml } from "smol-toml";
import {
  at,
  CONTAINER,
  type Driver,
  defaultPlan,
  KEYS,
  type Line,
  variant,
} from "../../test/helpers/containerd-config.js";
import { containerdConfigDump, requireTool } from "../../test/helpers/tools.js";
import { renderContainerdConfig } from "./containerd.js";

const execFileP = promisify(execFile);

async function writeTemp(t: TestContext, content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-containerd-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, "config.toml");
  await writeFile(path, content);
  return path;
}

/**
 * Real containerd loads each rendered file and `config dump` shows the merged result. The
 * pause image is a made-up one so a mistyped key cannot pass by matching containerd's own
 * default; `restrict_oom_score_adj` is on for the same reason (default false).
 */
async function checkDump(t: TestContext, bin: string, line: Line, driver: Driver): Promise<string> {
  const pause = "registry.example/kubelab-test/pause:9.9";
  const path = await writeTemp(
    t,
    renderContainerdConfig(variant(await defaultPlan(), line, driver, pause), CONTAINER).content,
  );
  const dump = await containerdConfigDump(bin, path);
  const tree = parseToml(dump);
  // containerd 2 dumps its latest schema whatever it read; 1.6 keeps version 2.
  const keys = KEYS[at(tree, "plugins", "io.containerd.cri.v1.runtime") ? "2.x" : "1.7"];
  assert.equal(at(tree, ...keys.runc, "options", "SystemdCgroup"), driver === "systemd", `${line} ${driver}`);
  assert.equal(at(tree, ...keys.runc, "runtime_type"), "io.containerd.runc.v2");
  assert.equal(at(tree, ...keys.sandbox), pause);
  assert.equal(at(tree, ...keys.oom), true);
  assert.deepEqual(at(tree, ...keys.cniBin), keys.cniBinValue);
  assert.match(dump, new RegExp(`^\\s*SystemdCgroup = ${driver === "systemd"}$`, "m"));
  return path;
}

for (const driver of ["systemd", "cgroupfs"] as const) {
  test(`containerd 2 reads the version 3 config (${driver})`, async (t) => {
    const bin = requireTool(t, "containerd2");
    if (!bin) return;
    const path = await checkDump(t, bin, "2.x", driver);
    // containerd 2 decodes plugin tables strictly on `config migrate` and warns about every key
    // it does not know: the typo check `config dump` alone cannot give.
    const { stderr } = await execFileP(bin, ["--config", path, "config", "migrate"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.doesNotMatch(stderr, /unknown key/i);
  });

  test(`containerd 2 migrates the 1.7 (version 2) config to the same settings (${driver})`, async (t) => {
    const bin = requireTool(t, "containerd2");
    if (!bin) return;
    await checkDump(t, bin, "1.7", driver);
  });

  test(`Debian containerd 1.6 reads the version 2 config (${driver})`, async (t) => {
    const bin = requireTool(t, "containerd1");
    if (!bin) return;
    const path = await checkDump(t, bin, "1.7", driver);
    assert.match(
      await containerdConfigDump(bin, path),
      /^\s*sandbox_image = "registry\.example\/kubelab-test\/pause:9\.9"$/m,
    );
  });
}
