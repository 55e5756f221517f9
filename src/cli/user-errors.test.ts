// Mistakes a newcomer makes, each ending in one clear error: exit 2, what is wrong, the fix
// (a hint), and no stack trace. In-process CLI, temporary directories only.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { kubelab } from "../../test/helpers/cli.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";

/** clearError asserts exit 2, the error's message and a hint, and no stack trace. */
function clearError(r: { code: number; out: string; err: string }, message: RegExp): void {
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, message);
  assert.match(r.err, /hint:|\. want /, `no fix in:\n${r.err}`);
  assert.doesNotMatch(r.err, /\n\s+at |looks like a bug/, r.err);
}

describe("clear errors for files and folders", () => {
  it("init -f into a folder that does not exist", async (t) => {
    const dir = await tempDir(t);
    clearError(await kubelab("init", "-f", join(dir, "nope", "kubelab.yaml")), /the folder .*nope does not exist/);
  });

  it("render --out (and --terraform, doctor dump --out) onto an existing file", async (t) => {
    const file = join(await tempDir(t), "taken");
    await writeFile(file, "x");
    clearError(await kubelab("render", "--out", file), /--out .* is a file, not a directory/);
    clearError(await kubelab("render", "--terraform", file), /--terraform .* is a file, not a directory/);
    clearError(await kubelab("doctor", "dump", "--out", file), /--out .* is a file, not a directory/);
  });

  it("render --upstream naming no directory", async (t) => {
    const dir = await tempDir(t);
    clearError(
      await kubelab("render", "--out", dir, "--upstream", join(dir, "nope")),
      /--upstream .*: no such directory/,
    );
  });

  it("a bundle whose bundle.json is not JSON, or not a bundle", async (t) => {
    const dir = await tempDir(t);
    // The cluster file in the temp dir: `up` keeps its run log beside it, not in the checkout.
    const file = join(dir, "kubelab.yaml");
    await writeFile(file, DEFAULT_CLUSTER_YAML);
    await mkdir(join(dir, "a"));
    await writeFile(join(dir, "a", "bundle.json"), "not json");
    clearError(await kubelab("up", "-f", file, "--dry-run", "--bundle", join(dir, "a")), /bundle\.json is not JSON/);
    await mkdir(join(dir, "b"));
    await writeFile(join(dir, "b", "bundle.json"), "{}");
    clearError(
      await kubelab("up", "-f", file, "--dry-run", "--bundle", join(dir, "b")),
      /is not a valid bundle manifest/,
    );
    // A file that is no tar at all (the cluster file itself, passed by mistake).
    clearError(
      await kubelab("up", "-f", file, "--dry-run", "--bundle", file),
      /is not a kubelab bundle: it is neither a directory nor a tar archive/,
    );
  });

  it("doctor --from a malformed or hand-made evidence.json", async (t) => {
    const dir = await tempDir(t);
    const dumps: [string, string, RegExp][] = [
      ["text", "not json", /evidence\.json is not JSON/],
      ["array", "[]", /is not a kubelab doctor dump/],
      ["partial", '{"format":"kubelab.dev/doctor-evidence/v1"}', /collectedAt is missing; unavailable is missing/],
      [
        "wrong",
        '{"format":"kubelab.dev/doctor-evidence/v1","collectedAt":"now","unavailable":{},"probes":{}}',
        /probes is not an array/,
      ],
    ];
    for (const [name, text, message] of dumps) {
      await mkdir(join(dir, name));
      await writeFile(join(dir, name, "evidence.json"), text);
      clearError(await kubelab("doctor", "--from", join(dir, name)), message);
    }
  });
});

describe("commands that need the cluster, before it exists", () => {
  it("kubeconfig and ssh say the machine is absent and to run kubelab up", async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, "kubelab.yaml");
    await writeFile(file, DEFAULT_CLUSTER_YAML);
    for (const argv of [
      ["kubeconfig", "-f", file],
      ["ssh", "master-1", "-f", file],
    ]) {
      const r = await kubelab(...argv);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /^error: master-1 is absent\n {2}hint: run kubelab up/m);
      assert.doesNotMatch(r.err, /\n\s+at |looks like a bug|failed on/, r.err);
    }
  });
});

describe("a file with a great many errors", () => {
  it("validate shows a screen of them and counts the rest", async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, "kubelab.yaml");
    const nodes = Array.from({ length: 120 }, (_, i) => `  - { name: Node_${i}, role: worker }`).join("\n");
    await writeFile(
      file,
      DEFAULT_CLUSTER_YAML.replace(
        /^nodes:\n( {2}.*\n)+/m,
        `nodes:\n  - { name: master-1, role: control-plane }\n${nodes}\n`,
      ),
    );
    const r = await kubelab("validate", "-f", file);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /has 120 errors/);
    assert.match(r.err, /… and 100 more \(fix these first/);
    assert.ok(r.err.split("\n").length < 70, `${r.err.split("\n").length} lines`);
  });
});

describe("clear errors for flag values, before anything happens", () => {
  it("up --concurrency abc or 0", async () => {
    for (const n of ["abc", "0", "-1", "1.5", "1000"]) {
      // A file that does not exist proves the flag is checked first: its error would come next.
      const r = await kubelab("up", "--concurrency", n, "-f", "/nonexistent/kubelab.yaml");
      clearError(r, /--concurrency <n>.* is invalid\. want a whole number from 1 to 64/);
    }
  });

  it("up --max-unavailable abc or 0", async () => {
    for (const n of ["abc", "0", "1.5", "1000"]) {
      const r = await kubelab("up", "--max-unavailable", n, "-f", "/nonexistent/kubelab.yaml");
      clearError(r, /--max-unavailable <n>.* is invalid\. want a whole number from 1 to 64/);
    }
  });

  it("bundle create / image bake --mirror with a malformed value", async () => {
    for (const m of ["garbage", "=https://x", "registry.k8s.io=", "registry.k8s.io=registry.local"]) {
      for (const cmd of [
        ["bundle", "create", "--out", "/nonexistent/b"],
        ["image", "bake"],
      ]) {
        const r = await kubelab(...cmd, "--mirror", m, "-f", "/nonexistent/kubelab.yaml");
        clearError(r, /--mirror <.*>' argument .* is invalid\. want FROM=TO, TO a URL/);
      }
    }
  });

  it("ui --ttl with a malformed value", async () => {
    clearError(await kubelab("ui", "--ttl", "forever", "-f", "/nonexistent/kubelab.yaml"), /want a duration/);
  });

  it("doctor --check with a name that is no check's, before evidence is read", async () => {
    const r = await kubelab("doctor", "--check", "nope", "--from", "/nonexistent/dump");
    clearError(r, /no check nope/);
  });

  it("a very long value is cut in the error", async () => {
    const r = await kubelab("up", "--concurrency", "9".repeat(5000));
    assert.equal(r.code, 2);
    assert.ok(r.err.length < 3000, `${r.err.length} characters`);
    assert.match(r.err, /\(4[0-9]{3} characters\) … .*want a whole number/);
  });
});
