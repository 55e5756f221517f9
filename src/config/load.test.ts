import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadCluster } from "../plan/load-cluster.js";
import { formatIssue } from "./issues.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/config/", import.meta.url));

/** A kubelab.config.ts that imports nothing (the temp folder has no kubelab to import). */
const CONFIG = `export default {
  apiVersion: "kubelab.dev/v1alpha1",
  kind: "Cluster",
  metadata: { name: "NAME" },
  nodes: [{ name: "master-1", role: "control-plane" }],
};
`;

describe("kubelab.config.ts", () => {
  it("defineCluster() gives the same plan as the equivalent YAML", async () => {
    const fromTs = await loadCluster(join(fixtures, "ts-valid/kubelab.config.ts"));
    const fromDefault = await loadCluster(undefined, tmpdir());
    assert.ok(fromTs.ok, JSON.stringify(fromTs));
    assert.ok(fromDefault.ok);
    const strip = (p: typeof fromTs.plan) => ({ ...p, nodes: p.nodes.map((n) => ({ ...n, source: 0 })) });
    assert.deepEqual(strip(fromTs.plan), strip(fromDefault.plan));
  });

  it("reports the same errors as YAML, naming the file", async () => {
    const file = join(fixtures, "ts-invalid/kubelab.config.ts");
    const result = await loadCluster(file);
    assert.ok(!result.ok);
    const text = result.errors.map((e) => formatIssue(e));
    assert.deepEqual(text, [
      `${file}: error: nodes[0].cpu: unknown key "cpu"\n  fix: did you mean "cpus"?`,
      `${file}: error: nodes[1].role: string "workr" is not allowed\n  fix: did you mean "worker"? use "control-plane" or "worker"`,
    ]);
  });

  it('loads the same in a folder without "type": "module" (run as CommonJS) and with it', async () => {
    const dir = await mkdtemp(join(tmpdir(), "kubelab-load-"));
    try {
      const names: string[] = [];
      for (const type of [undefined, "commonjs", "module"]) {
        const sub = join(dir, type ?? "untyped");
        await mkdir(sub);
        await writeFile(join(sub, "package.json"), JSON.stringify(type ? { type } : {}));
        await writeFile(join(sub, "kubelab.config.ts"), `${CONFIG.replace("NAME", `in-${type}`)}`);
        const result = await loadCluster("kubelab.config.ts", sub);
        assert.ok(result.ok, JSON.stringify(result));
        names.push(result.plan.name);
      }
      assert.deepEqual(names, ["in-undefined", "in-commonjs", "in-module"]);
      // Without a default export, CommonJS or not, the file says so.
      await writeFile(join(dir, "untyped", "none.ts"), "export const cluster = {};\n");
      const none = await loadCluster("none.ts", join(dir, "untyped"));
      assert.ok(!none.ok);
      assert.match(formatIssue(none.errors[0] ?? { file: "", path: [], message: "" }), /has no default export/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("finding the cluster file", () => {
  it("uses ./kubelab.yaml when present, else the embedded default", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kubelab-load-"));
    try {
      const def = await loadCluster(undefined, dir);
      assert.ok(def.ok);
      assert.equal(def.plan.name, "lab");
      await writeFile(
        join(dir, "kubelab.yaml"),
        "apiVersion: kubelab.dev/v1alpha1\nkind: Cluster\nmetadata: { name: other }\nnodes: [{ name: cp, role: control-plane }]\n",
      );
      const found = await loadCluster(undefined, dir);
      assert.ok(found.ok);
      assert.equal(found.plan.name, "other");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a missing file is a user error", async () => {
    await assert.rejects(loadCluster("/nonexistent/kubelab.yaml"), { name: "UserError", message: /no such file/ });
  });
});

describe("a YAML cluster file never runs code", () => {
  /** A module that leaves a mark when it runs, and exports a cluster. */
  const module = (mark: string) =>
    `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(mark)}, "ran");\n` +
    'export default { apiVersion: "kubelab.dev/v1alpha1", kind: "Cluster", metadata: { name: "lab" }, nodes: [{ name: "m", role: "control-plane" }] };\n';

  it("TypeScript in a file named .yaml is read as YAML (and fails), never imported", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "kubelab-yaml-ts-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const mark = join(dir, "ran");
    for (const name of ["kubelab.yaml", "kubelab.yml", "cluster"]) {
      await writeFile(join(dir, name), module(mark));
      const r = await loadCluster(join(dir, name));
      assert.ok("errors" in r && r.errors.length > 0, `${name}: read as YAML, so invalid`);
      assert.equal(existsSync(mark), false, `${name} did not run`);
    }
    // The same text named .ts does run: what the check above would have seen.
    await writeFile(join(dir, "kubelab.config.ts"), module(mark));
    await loadCluster(join(dir, "kubelab.config.ts"));
    assert.equal(existsSync(mark), true);
  });
});
