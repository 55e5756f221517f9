// Every command given malformed flags and values: a usage error (exit 2) that fits on a screen,
// never a stack trace, and nothing done before the flags were checked.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { it } from "node:test";
import { kubelab } from "../../test/helpers/cli.js";
import { tempDir } from "../../test/helpers/tmp.js";

/** A screen: what a user reads without scrolling. */
const SCREEN = 40;

const MISSING = "/nonexistent/kubelab.yaml";

it("every command with malformed flags and values: exit 2, no stack trace, at most a screen", async (t) => {
  const dir = await tempDir(t);
  const notYaml = join(dir, "not.yaml");
  await writeFile(notYaml, "nodes: [\n  - {name: a{n}, role: worker}\n: : :\n\t- x\n");
  const calls: string[][] = [
    ["nonsense"],
    ["--bogus"],
    // yaml became a format; xml is not one.
    ["plan", "-o", "xml"],
    ["plan", "-o=xml"],
    ["plan", "-f", "-"],
    ["plan", "--bogus"],
    ["plan", "-f"],
    ["plan", "-f", MISSING],
    ["plan", "-f", dir],
    ["plan", "-f", notYaml],
    ["validate", "-f", notYaml],
    ["validate", "extra"],
    ["init", "-f", join(dir, "no", "such", "kubelab.yaml")],
    ["init", "--bogus"],
    ["render"],
    ["render", "--out"],
    ["render", "--out", notYaml],
    ["up", "--concurrency", "abc"],
    ["up", "--concurrency", "0"],
    ["up", "--concurrency", "x".repeat(10_000)],
    ["up", "--bundle"],
    ["up", "-f", MISSING],
    ["up", "--dry-run", "-f", notYaml],
    ["bundle"],
    ["bundle", "nonsense"],
    ["bundle", "create"],
    ["bundle", "create", "--out", join(dir, "b"), "--arch", "s390x"],
    ["bundle", "create", "--out", join(dir, "b"), "--mirror", "garbage"],
    ["bundle", "create", "--out", join(dir, "b"), "-f", MISSING],
    ["image", "bake", "--mirror", "=="],
    ["image", "bake", "-f", MISSING],
    ["ui", "--ttl", "1y"],
    ["ui", "--ttl", "5m"],
    ["ui", "-f", MISSING],
    ["kubeconfig", "--bogus"],
    ["kubeconfig", "-f", MISSING],
    ["down", "-f", MISSING, "--force"],
    ["status", "-o", "xml"],
    ["status", "-f", MISSING],
    ["ssh"],
    ["ssh", "master-1", "-f", MISSING],
    ["doctor", "-o", "xml"],
    ["doctor", "--from", join(dir, "nothing-here")],
    ["doctor", "--from", dir, "--check", "nope"],
    ["doctor", "dump"],
    ["doctor", "dump", "--out", notYaml],
    ["schema", "--bogus"],
    ["init", "--provider", "docker"],
    ["up", "--detailed-exitcode"],
    ["plan", "--name", "no-such-cluster"],
    ["plan", "--name", "lab", "-f", MISSING],
    ["get"],
    ["get", "pods"],
    ["get", "clusters", "-o", "xml"],
    ["list", "--bogus"],
    ["completion"],
    ["completion", "powershell"],
    ["version", "-o", "xml"],
    ["version", "extra"],
  ];
  for (const argv of calls) {
    const r = await kubelab(...argv);
    const shown = `kubelab ${argv.join(" ").slice(0, 100)}:\n${r.out}${r.err}`;
    assert.equal(r.code, 2, shown);
    assert.doesNotMatch(r.err, /\n\s+at |looks like a bug/, shown);
    const lines = `${r.out}${r.err}`.trimEnd().split("\n").length;
    assert.ok(lines <= SCREEN, `${lines} lines from ${shown}`);
    assert.ok(`${r.out}${r.err}`.length <= SCREEN * 200, `${r.err.length} characters from ${shown.slice(0, 300)}`);
  }
});
