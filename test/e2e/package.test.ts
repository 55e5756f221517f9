/**
 * kubelab as a newcomer gets it: the tarball `npm pack` makes (built from a copy of this
 * checkout, so nothing is written here), installed into an empty project from the npm cache
 * alone (`npm install --offline`). There `npx kubelab plan` and `validate` load a
 * kubelab.config.ts written with defineCluster, in a folder with and without
 * `"type": "module"`, and one exporting a plain object; the repository's `tsc` checks those
 * files and test/types against the installed types; README's library example runs there.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { runtimeLock } from "../helpers/npm-project.js";
import { need } from "../helpers/prereq.js";
import { codeBlocks, readme, readmeSection } from "../helpers/readme.js";
import { steps } from "../helpers/steps.js";
import { tempDir } from "../helpers/tmp.js";
import { findOnPath } from "../helpers/tools.js";

const execFileP = promisify(execFile);
const REPO = fileURLToPath(new URL("../..", import.meta.url));
/** What the copy to pack leaves out: git's data and what .gitignore names (dist/ is built anew). */
const NOT_COPIED = new Set([".git", "node_modules", "dist", "tmp", ".kubelab", "test-results"]);

/** Offline throughout: whatever is not in the npm cache is an error, never a download. */
const NPM_ENV = {
  ...process.env,
  npm_config_offline: "true",
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
};

/** sh runs a command in `cwd`; a failure shows both output streams. */
async function sh(cwd: string, file: string, ...args: string[]): Promise<string> {
  try {
    return (await execFileP(file, args, { cwd, env: NPM_ENV, maxBuffer: 64 << 20 })).stdout;
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(" ")} (in ${cwd}) failed:\n${stdout ?? ""}\n${stderr ?? ""}`, { cause: e });
  }
}

/** A cluster file as kubelab.config.ts: `name`, one control plane and `workers` workers. */
function configTs(name: string, workers: number, how: "defineCluster" | "plain"): string {
  const cluster = `{
  apiVersion: "kubelab.dev/v1alpha1",
  kind: "Cluster",
  metadata: { name: "${name}" },
  nodes: [
    { name: "master-1", role: "control-plane" },${workers > 0 ? `\n    { name: "worker-{n}", role: "worker", count: ${workers} },` : ""}
  ],
}`;
  return how === "plain"
    ? `export default ${cluster};\n`
    : `import { defineCluster } from "kubelab";\n\nexport default defineCluster(${cluster});\n`;
}

/**
 * The repository's type-level tests of the public API, rewritten to import the installed
 * package: they fail unless its types are kubelab's own (an `any` leaves a @ts-expect-error unused).
 */
const TYPE_TESTS = join(REPO, "test", "types", "define-cluster.ts");

describe("the npm package", () => {
  it("packs without tests, installs offline into an empty project, runs there as the README says", async (t) => {
    const npm = findOnPath("npm");
    if (!need(t, "npm", npm !== undefined, "install npm (it comes with Node.js)")) return;
    const npx = join(npm ?? "", "..", "npx");
    const dir = await tempDir(t, "kubelab-package-");
    const project = join(dir, "project");
    const step = steps(t);
    let tarball = "";

    await step("npm pack: dist, bin, schema.json, docs, terraform; no test files", async () => {
      const src = join(dir, "kubelab");
      await cp(REPO, src, {
        recursive: true,
        filter: (from) => !NOT_COPIED.has(from.slice(REPO.length).split("/")[0] ?? ""),
      });
      // The build (`prepare`) runs the repository's own TypeScript.
      await symlink(join(REPO, "node_modules"), join(src, "node_modules"));
      const [packed] = JSON.parse(await sh(src, npm ?? "npm", "pack", "--json", "--pack-destination", dir)) as {
        filename: string;
        files: { path: string }[];
      }[];
      assert.ok(packed);
      tarball = join(dir, packed.filename);
      const files = packed.files.map((f) => f.path);
      for (const f of ["bin/kubelab.js", "dist/index.js", "dist/index.d.ts", "dist/cli/main.js", "schema.json"])
        assert.ok(files.includes(f), `${f} is in the package`);
      for (const f of ["docs/known-failures.md", "terraform/modules/cluster/main.tf"])
        assert.ok(files.includes(f), `${f} (read at run time) is in the package`);
      const tests = files.filter((f) => /\.test\.|^test\/|(^|\/)fixtures\//.test(f));
      assert.deepEqual(tests, [], "no tests in the package");
      assert.deepEqual(
        files.filter((f) => f.startsWith("src/")),
        [],
        "the package ships dist/, not the sources",
      );
    });

    await step("npm install --offline TARBALL into an empty project", async () => {
      await mkdir(project);
      await writeFile(join(project, "package.json"), `${JSON.stringify({ name: "trial", private: true }, null, 2)}\n`);
      const repoLock = JSON.parse(await readFile(join(REPO, "package-lock.json"), "utf8"));
      await writeFile(join(project, "package-lock.json"), JSON.stringify(runtimeLock(repoLock, "trial"), null, 2));
      await sh(project, npm ?? "npm", "install", "--offline", tarball);
    });

    await step("npx kubelab plan and validate: kubelab.config.ts with defineCluster, no type", async () => {
      await writeFile(join(project, "kubelab.config.ts"), configTs("from-ts", 2, "defineCluster"));
      assert.match(await sh(project, npx, "kubelab", "plan"), /^Cluster from-ts:/m);
      assert.match(await sh(project, npx, "kubelab", "validate"), /valid \(3 nodes\)/);
    });

    await step('kubelab.config.ts with defineCluster in a "type": "module" folder', async () => {
      await mkdir(join(project, "module"));
      await writeFile(join(project, "module", "package.json"), '{ "type": "module" }\n');
      await writeFile(join(project, "module", "kubelab.config.ts"), configTs("from-module", 1, "defineCluster"));
      const file = join("module", "kubelab.config.ts");
      assert.match(await sh(project, npx, "kubelab", "validate", "-f", file), /valid \(2 nodes\)/);
      assert.match(await sh(project, npx, "kubelab", "plan", "-f", file), /^Cluster from-module:/m);
    });

    await step("kubelab.config.ts exporting a plain object", async () => {
      await mkdir(join(project, "plain"));
      await writeFile(join(project, "plain", "kubelab.config.ts"), configTs("from-plain", 0, "plain"));
      const file = join("plain", "kubelab.config.ts");
      assert.match(await sh(project, npx, "kubelab", "validate", "-f", file), /valid \(1 nodes?\)/);
      assert.match(await sh(project, npx, "kubelab", "plan", "-f", file), /^Cluster from-plain:/m);
    });

    await step(
      "tsc --noEmit: the config files and the API's type tests check against the installed types",
      async () => {
        const typeTests = await readFile(TYPE_TESTS, "utf8");
        assert.ok(typeTests.includes('from "../../src/index.js"'), `${TYPE_TESTS} imports src/index.ts`);
        await writeFile(
          join(project, "api-types.ts"),
          typeTests.replace('from "../../src/index.js"', 'from "kubelab"'),
        );
        const tsconfig = {
          compilerOptions: { module: "nodenext", strict: true, noEmit: true, skipLibCheck: false, types: [] },
          files: ["kubelab.config.ts", "module/kubelab.config.ts", "api-types.ts"],
        };
        await writeFile(join(project, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
        await sh(project, join(REPO, "node_modules", ".bin", "tsc"), "-p", "tsconfig.json");
      },
    );

    await step("README's library example runs from the installed package", async () => {
      const [example] = codeBlocks(readmeSection(await readme(), "Library"), "js");
      assert.ok(example, "README's library section shows a js example");
      await writeFile(join(project, "nodes.mjs"), example);
      assert.equal(
        await sh(project, process.execPath, "nodes.mjs"),
        "master-1 control-plane 192.168.56.11\nworker-1 worker 192.168.56.12\nworker-2 worker 192.168.56.13\n",
      );
      await writeFile(join(project, "broken.ts"), configTs("broken", 1, "plain").replace('"worker"', '"minion"'));
      const failed = await execFileP(process.execPath, ["nodes.mjs", "broken.ts"], { cwd: project }).then(
        () => assert.fail("an invalid file exits non-zero"),
        (e: { code?: number; stderr?: string }) => e,
      );
      assert.equal(failed.code, 2);
      assert.match(failed.stderr ?? "", /minion/);
    });
  });
});
