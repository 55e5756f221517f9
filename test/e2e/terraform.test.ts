/**
 * The Terraform modules with a real OpenTofu (built from source here): every module and
 * example is formatted and parses; those that need only OpenTofu's built-in provider
 * (`cluster`, and the root `kubelab render --terraform` writes) are initialised and validated;
 * those whose providers (kubernetes, helm, tls) cannot be downloaded here are checked for
 * variable and output consistency, and the test says so. Then the `cluster` module, through
 * the rendered root, makes a real cluster on nspawn machines from an offline bundle: its
 * outputs match `kubelab status`, and `tofu destroy` removes it completely.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { bridgeName } from "../../src/providers/nspawn/network.js";
import { createTestBundle, TRUST_ENV } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { NO_ADDONS, nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";
import { stateHome } from "../helpers/tmp.js";
import { requireTool } from "../helpers/tools.js";

const execFileP = promisify(execFile);
const REPO = fileURLToPath(new URL("../../", import.meta.url));
const TERRAFORM = join(REPO, "terraform");

/** A CLI config that makes provider installation fail at once, without the network. */
async function offlineEnv(t: TestContext): Promise<NodeJS.ProcessEnv> {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-tofu-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, "tofurc");
  await writeFile(
    config,
    `provider_installation {\n  filesystem_mirror {\n    path    = "${join(dir, "mirror")}"\n    include = ["*/*/*"]\n  }\n}\n`,
  );
  return { ...process.env, TF_CLI_CONFIG_FILE: config, TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" };
}

async function tfFiles(dir: string): Promise<string> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(".tf"));
  return (await Promise.all(names.map((n) => readFile(join(dir, n), "utf8")))).join("\n");
}

/** Declared variables and outputs, and the variables a module's files use (HCL read with patterns). */
function surface(text: string) {
  const all = (re: RegExp) => new Set([...text.matchAll(re)].map((m) => m[1] as string));
  return {
    variables: all(/^variable\s+"([\w-]+)"/gm),
    outputs: all(/^output\s+"([\w-]+)"/gm),
    used: all(/\bvar\.([\w-]+)/g),
  };
}

describe("Terraform modules", () => {
  it("formatted, parsed; the cluster module and a rendered root validate; the rest are consistent", async (t) => {
    const tofu = requireTool(t, "tofu");
    if (!tofu) return;
    const env = await offlineEnv(t);
    // fmt parses every file: a syntax error fails here too.
    const fmt = await execFileP(tofu, ["fmt", "-check", "-recursive", "-diff", TERRAFORM], { env }).catch((e) => e);
    assert.equal(fmt.code ?? 0, 0, `${fmt.stdout}${fmt.stderr}`);

    const validate = async (dir: string) => {
      await execFileP(tofu, ["init", "-backend=false", "-input=false"], { cwd: dir, env });
      const { stdout } = await execFileP(tofu, ["validate", "-json"], { cwd: dir, env });
      const result = JSON.parse(stdout) as { valid: boolean; diagnostics: unknown[] };
      assert.ok(result.valid, `${dir}: ${JSON.stringify(result.diagnostics)}`);
    };
    await validate(join(TERRAFORM, "modules", "cluster"));
    const root = await mkdtemp(join(tmpdir(), "kubelab-tf-root-"));
    t.after(() => rm(root, { recursive: true, force: true }));
    const rendered = await kubelab("render", "--terraform", root);
    assert.equal(rendered.code, 0, rendered.err);
    await validate(root);

    // Modules that need registry providers: parsed (fmt, above), and every variable they use
    // is declared; the example uses only outputs the modules have.
    const parsedOnly: string[] = [];
    for (const name of ["metallb", "ui", "linkerd"]) {
      const s = surface(await tfFiles(join(TERRAFORM, "modules", name)));
      assert.deepEqual(
        [...s.used].filter((v) => !s.variables.has(v)),
        [],
        `${name}: undeclared variables`,
      );
      assert.ok(s.outputs.size > 0, `${name} has outputs`);
      parsedOnly.push(`modules/${name}`);
    }
    const example = await tfFiles(join(TERRAFORM, "examples", "classic-lab"));
    const ex = surface(example);
    assert.deepEqual(
      [...ex.used].filter((v) => !ex.variables.has(v)),
      [],
      "classic-lab: undeclared variables",
    );
    const calls = [...example.matchAll(/module\s+"([\w-]+)"\s*{[^}]*?source\s*=\s*"\.\.\/\.\.\/modules\/([\w-]+)"/gs)];
    assert.ok(calls.length >= 1, "classic-lab uses the modules");
    for (const [, call, mod] of calls) {
      const outs = surface(await tfFiles(join(TERRAFORM, "modules", mod as string))).outputs;
      for (const m of example.matchAll(new RegExp(`module\\.${call}\\.([\\w-]+)`, "g")))
        assert.ok(
          outs.has(m[1] as string),
          `classic-lab uses module.${call}.${m[1]}, which modules/${mod} does not output`,
        );
    }
    parsedOnly.push("examples/classic-lab");
    t.diagnostic(
      `parsed and checked for consistency only (kubernetes, helm, tls providers cannot be downloaded here): ${parsedOnly.join(", ")}`,
    );
  });

  it("the cluster module makes a real cluster (offline bundle); outputs match kubelab status; destroy removes it", async (t) => {
    if (!requireNspawn(t)) return;
    const tofu = requireTool(t, "tofu");
    if (!tofu) return;
    await stateHome(t);
    const env = await offlineEnv(t);
    const { raw, plan } = nspawnTestCluster("tf", { workers: 1 }, { addons: NO_ADDONS });
    const dir = await mkdtemp(join(tmpdir(), "kubelab-tf-e2e-"));
    const file = join(dir, "kubelab.yaml");
    await writeFile(file, stringify(raw));
    const kubeconfig = join(dir, "user-kubeconfig");
    const tfDir = join(dir, "tf");
    t.after(async () => {
      await kubelab("down", "-f", file, "--force");
      await rm(dir, { recursive: true, force: true });
    });
    const bundle = join(dir, "bundle");
    if (!(await createTestBundle(t, plan, bundle))) return;
    // After the bundle: the kubelab tofu runs reads the test's trust anchors from the environment.
    const runEnv = { ...env, [TRUST_ENV]: process.env[TRUST_ENV], KUBECONFIG: kubeconfig };
    const command = `${join(REPO, "node_modules", ".bin", "tsx")} ${join(REPO, "test", "helpers", "kubelab-bin.ts")}`;
    const vars = ["-var", `kubelab_command=${command}`, "-var", `bundle=${bundle}`];
    const step = steps(t);

    await step("kubelab render --terraform, then tofu apply makes the cluster from the bundle", async () => {
      const rendered = await kubelab("render", "-f", file, "--terraform", tfDir);
      assert.equal(rendered.code, 0, rendered.err);
      await execFileP(tofu, ["init", "-input=false"], { cwd: tfDir, env: runEnv });
      const applied = await execFileP(tofu, ["apply", "-auto-approve", "-input=false", ...vars], {
        cwd: tfDir,
        env: runEnv,
        maxBuffer: 64 * 1024 * 1024,
      }).catch((e) => e);
      assert.equal(applied.code ?? 0, 0, `${applied.stdout}\n${applied.stderr}`);
      assert.match(applied.stdout, new RegExp(`cluster ${plan.name}: 2 nodes joined`));
    });

    await step("the outputs match kubelab status", async () => {
      const outputs = JSON.parse(
        (await execFileP(tofu, ["output", "-json"], { cwd: tfDir, env: runEnv })).stdout,
      ) as Record<string, { value: unknown }>;
      const status = await kubelab("status", "-f", file, "-o", "json");
      const listed = JSON.parse(status.out).nodes as { node: string; machine: string; ip: string }[];
      assert.deepEqual(outputs.node_addresses?.value, Object.fromEntries(listed.map((n) => [n.node, n.ip])));
      assert.deepEqual(
        listed.map((n) => n.machine),
        ["running", "running"],
      );
      assert.equal(outputs.kube_context?.value, `kubelab-${plan.name}`);
      assert.equal(outputs.api_endpoint?.value, `https://${plan.kubernetes.controlPlaneEndpoint}`);
      assert.ok(existsSync(outputs.kubeconfig_path?.value as string), "the kubeconfig the output names exists");
    });

    await step("a second apply has nothing to do", async () => {
      const again = await execFileP(tofu, ["plan", "-detailed-exitcode", "-input=false", ...vars], {
        cwd: tfDir,
        env: runEnv,
      }).catch((e) => e);
      assert.equal(again.code ?? 0, 0, `${again.stdout}\n${again.stderr}`);
    });

    await step("tofu destroy removes the machines and the bridge", async () => {
      const destroyed = await execFileP(tofu, ["destroy", "-auto-approve", "-input=false", ...vars], {
        cwd: tfDir,
        env: runEnv,
        maxBuffer: 64 * 1024 * 1024,
      }).catch((e) => e);
      assert.equal(destroyed.code ?? 0, 0, `${destroyed.stdout}\n${destroyed.stderr}`);
      const after = JSON.parse((await kubelab("status", "-f", file, "-o", "json")).out).nodes as { machine: string }[];
      assert.deepEqual(
        after.map((n) => n.machine),
        ["absent", "absent"],
      );
      assert.doesNotMatch(
        execFileSync("ip", ["-o", "link", "show"]).toString(),
        new RegExp(`${bridgeName(plan.name)}[:@]`),
      );
    });
  });
});
