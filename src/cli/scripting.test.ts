// The CLI for scripts: -o json|yaml in every spelling, warnings and validation problems as
// data, --quiet, and text fitted to the terminal's width (never under a pipe).
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { kubelab, kubelabIn } from "../../test/helpers/cli.js";
import { planOf } from "../../test/helpers/fixtures.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { appliedRecord, writeAppliedNodes } from "../plan/applied-nodes.js";
import type { Plan } from "../plan/types.js";

/** The default lab without MetalLB: valid, with a warning (the UI gets no address). */
const WARNED = DEFAULT_CLUSTER_YAML.replace("  metallb:\n    enabled: true", "  metallb:\n    enabled: false");

describe("output for scripts", () => {
  it("-o json, -o=json, --output json and --output=json print the same plan", async (t) => {
    const file = join(await tempDir(t), "lab.yaml");
    await writeFile(file, DEFAULT_CLUSTER_YAML);
    const outs = [];
    for (const o of [["-o", "json"], ["-o=json"], ["--output", "json"], ["--output=json"], ["-ojson"]]) {
      const r = await kubelab("plan", "-f", file, ...o);
      assert.equal(r.code, 0, `${o.join(" ")}: ${r.err}`);
      outs.push(r.out);
    }
    assert.equal(new Set(outs).size, 1);
    const yaml = await kubelab("plan", `-f=${file}`, "-o=yaml");
    assert.equal(yaml.code, 0, yaml.err);
    assert.deepEqual(parse(yaml.out), JSON.parse(outs[0] ?? ""));
  });

  it("plan -o json carries the file's warnings with line and column", async (t) => {
    const file = join(await tempDir(t), "lab.yaml");
    await writeFile(file, WARNED);
    const r = await kubelab("plan", "-f", file, "-o", "json");
    assert.equal(r.code, 0, r.err);
    const plan = JSON.parse(r.out);
    assert.equal(plan.context, "kubelab-lab");
    assert.equal(plan.warnings.length, 1, r.out);
    const [w] = plan.warnings;
    assert.equal(w.file, file);
    assert.ok(w.line > 1 && w.col >= 1, JSON.stringify(w));
    assert.match(w.message, /gets no address without MetalLB/);
    assert.match(r.err, /warning: .*MetalLB/, "stderr still says it");
    assert.deepEqual(JSON.parse((await kubelab("plan", "-f", file, "-o", "json")).out).warnings, plan.warnings);
  });

  it("plan lists the nodes up made that the file no longer has, to remove, as text and as data", async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, "lab.yaml");
    await writeFile(file, DEFAULT_CLUSTER_YAML);
    const made = planOf(parse(DEFAULT_CLUSTER_YAML));
    const worker3 = { ...made.nodes[2], name: "worker-3", ip: "192.168.56.14" } as Plan["nodes"][number];
    await writeAppliedNodes(
      join(dir, ".kubelab", "lab"),
      appliedRecord({ ...made, nodes: [...made.nodes, worker3] }, new Map(), []),
    );
    const data = await kubelab("plan", "-f", file, "-o", "json");
    assert.equal(data.code, 0, data.err);
    assert.deepEqual(JSON.parse(data.out).toRemove, [{ name: "worker-3", role: "worker", ip: "192.168.56.14" }]);
    const text = await kubelab("plan", "-f", file);
    assert.match(
      text.out,
      /\nTo remove \(no longer in the file; kubelab up --prune drains and removes them\)\n {2}NAME {6}ROLE {11}IP\n {2}worker-3 {2}worker {9}192\.168\.56\.14\n/,
    );
    const fresh = join(await tempDir(t), "lab.yaml");
    await writeFile(fresh, DEFAULT_CLUSTER_YAML);
    const none = await kubelab("plan", "-f", fresh);
    assert.equal(none.code, 0, none.err);
    assert.doesNotMatch(none.out, /To remove/);
  });

  it("validate -o json|yaml gives errors and warnings as data, exit 2 when invalid", async (t) => {
    const dir = await tempDir(t);
    const bad = join(dir, "bad.yaml");
    await writeFile(bad, WARNED.replace("role: worker", "role: wrker"));
    const r = await kubelab("validate", "-f", bad, "-o", "json");
    assert.equal(r.code, 2);
    const data = JSON.parse(r.out);
    assert.equal(data.valid, false);
    assert.deepEqual(
      data.errors.map((e: { line: number; col: number; path: string }) => `${e.line}:${e.col} ${e.path}`),
      ["21:11 nodes[1].role"],
    );
    assert.match(r.err, /bad\.yaml has 1 error/);
    assert.doesNotMatch(r.err, /21:11/, "the problems are in the data, not repeated");
    const good = join(dir, "good.yaml");
    await writeFile(good, WARNED);
    const y = await kubelab("validate", "-f", good, "-o", "yaml");
    assert.equal(y.code, 0, y.err);
    const ok = parse(y.out);
    assert.equal(ok.valid, true);
    assert.equal(ok.nodes, 3);
    assert.deepEqual(ok.errors, []);
    assert.equal(ok.warnings[0].path, "addons.ui");
  });

  it("doctor --list -o json|yaml lists the checks", async () => {
    const json = JSON.parse((await kubelab("doctor", "--list", "-o", "json")).out);
    assert.ok(json.some((c: { id: string }) => c.id === "file.valid"));
    assert.deepEqual(parse((await kubelab("doctor", "--list", "-o=yaml")).out), json);
  });

  it("--quiet leaves notes and warnings out, never the result", async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, "lab.yaml");
    await writeFile(file, WARNED);
    const v = await kubelab("validate", "-q", "-f", file);
    assert.deepEqual([v.code, v.out, v.err], [0, "", ""]);
    const p = await kubelab("--quiet", "plan", "-f", file, "-o", "json");
    assert.equal(p.code, 0);
    assert.equal(p.err, "");
    assert.equal(JSON.parse(p.out).warnings.length, 1);
    const init = await kubelab("init", "-q", "-f", join(dir, "new.yaml"));
    assert.deepEqual([init.code, init.out, init.err], [0, "", ""]);
    const bad = await kubelab("validate", "-q", "-f", join(dir, "missing.yaml"));
    assert.equal(bad.code, 2);
    assert.match(bad.err, /error: .*missing\.yaml: no such file/, "errors still show");
  });

  it("text fits the terminal's width; under a pipe nothing is cut", async (t) => {
    const file = join(await tempDir(t), "lab.yaml");
    await writeFile(file, WARNED);
    const piped = await kubelab("plan", "-f", file);
    assert.ok(piped.out.split("\n").some((l) => l.length > 50));
    const narrow = await kubelabIn({ columns: 50 }, "plan", "-f", file);
    assert.equal(narrow.code, 0, narrow.err);
    const long = narrow.out.split("\n").filter((l) => l.length > 50);
    assert.deepEqual(long, []);
    assert.match(narrow.out, /^ {2}\[[GNLD.|!]{40,46}\]$/m, "the network map is narrowed, still one line");
    const list = await kubelabIn({ columns: 40 }, "doctor", "--list");
    assert.ok(list.out.split("\n").every((l) => l.length <= 40));
    const json = await kubelabIn({ columns: 40 }, "plan", "-f", file, "-o", "json");
    assert.equal(json.out, (await kubelab("plan", "-f", file, "-o", "json")).out, "data is never fitted");
  });
});
