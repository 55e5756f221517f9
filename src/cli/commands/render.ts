import { realpathSync } from "node:fs";
import { cp, mkdir, writeFile } from "node:fs/promises";
import { basename, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { addonManifests } from "../../addons/index.js";
import { clusterState } from "../../addons/linkerd.js";
import { readPinnedFiles } from "../../artifacts/local.js";
import { writeTree } from "../../artifacts/tree.js";
import { DEFAULT_CLUSTER_YAML } from "../../config/default-cluster.js";
import { findClusterFile, readProcessStdin, STDIN_FILE } from "../../config/load.js";
import { providerFor } from "../../providers/index.js";
import { shellQuote } from "../../remote/quote.js";
import { renderCluster } from "../../render/cluster.js";
import type { ClusterChoice } from "../cluster-option.js";
import { type Io, note } from "../io.js";
import { checkInDir, checkOutDir } from "./dir-flags.js";
import { loadPlanOrFail } from "./validated.js";

export interface RenderOptions extends ClusterChoice {
  out: string;
  upstream?: string;
}

/** render writes every node file and cluster object kubelab would produce, one folder per node plus cluster/. */
export async function render(opts: RenderOptions, io: Io): Promise<void> {
  await checkOutDir("--out", opts.out);
  if (opts.upstream) await checkInDir("--upstream", opts.upstream);
  const plan = await loadPlanOrFail(opts.file, io, opts.cwd);
  const manifests = addonManifests(plan);
  const upstream = opts.upstream ? await readPinnedFiles(opts.upstream, manifests) : new Map();
  const linkerd = plan.addons.linkerd.enabled
    ? await clusterState({ plan, now: new Date(), warn: (line) => io.err(`warning: ${line}`) })
    : undefined;
  // No machine is asked: what the provider declares about its nodes stands for their facts.
  const provider = await providerFor(plan);
  const rendered = renderCluster(plan, {
    linkerd,
    manifests,
    upstream: (f) => upstream.get(f),
    nodeEnvironment: provider.nodeEnvironment,
    providerFiles: provider.clusterFiles?.(plan),
  });
  let count = 0;
  for (const n of rendered.nodes) count += (await writeTree(join(opts.out, n.node), n.files)).length;
  count += (await writeTree(join(opts.out, "cluster"), rendered.cluster)).length;
  note(io, `wrote ${count} files for ${rendered.nodes.length} nodes to ${opts.out}`);
  if (rendered.missingUpstream.length > 0) {
    io.err(
      `not transformed (no pinned copy${opts.upstream ? ` in ${opts.upstream}` : "; pass --upstream DIR"}):\n${rendered.missingUpstream.map((f) => `  ${f.url}`).join("\n")}`,
    );
  }
}

/** Where the Terraform modules ship: `terraform/modules/` at the package root. */
const MODULES = fileURLToPath(new URL("../../../terraform/modules/", import.meta.url));

/**
 * renderingCommand is the shell command that runs this kubelab again: node and the real path
 * of the kubelab script when the process was started as `kubelab` (a global install, npx, a
 * project's node_modules/.bin), so a root module calls the kubelab that wrote it; otherwise
 * (kubelab used as a library) plain `kubelab` from PATH.
 */
export function renderingCommand(argv: readonly string[] = process.argv, node = process.execPath): string {
  const script = argv[1];
  if (!script || !/^kubelab(\.js)?$/.test(basename(script))) return "kubelab";
  let real = script;
  try {
    real = realpathSync(script);
  } catch {
    // A script that is gone cannot run again: PATH's kubelab is the best guess.
    return "kubelab";
  }
  return shellQuote([node, real]);
}

/**
 * renderTerraform writes a root module for the cluster file that works where it is written
 * and after it is moved with its folder: `kubelab-plan.json` (the plan, which Terraform cannot
 * compute), a copy of the `cluster` module under `modules/`, and `main.tf.json` calling it,
 * with the variables a user sets (the kubelab command, by default the one that rendered the
 * root; an offline bundle) and every output of the module.
 */
export async function renderTerraform(opts: ClusterChoice & { dir: string; command?: string }, io: Io): Promise<void> {
  await checkOutDir("--terraform", opts.dir);
  const plan = await loadPlanOrFail(opts.file, io, opts.cwd);
  const dir = resolve(opts.dir);
  await mkdir(dir, { recursive: true });
  // The module names a file: the one given or found here; the built-in lab and standard input
  // get one in the module's directory.
  const cwd = opts.cwd ?? process.cwd();
  const found = opts.file === STDIN_FILE ? undefined : await findClusterFile(opts.file, cwd);
  let clusterFile: string;
  if (found) clusterFile = resolve(cwd, found);
  else {
    clusterFile = join(dir, "kubelab.yaml");
    await writeFile(clusterFile, opts.file ? await (io.stdin ?? readProcessStdin)() : DEFAULT_CLUSTER_YAML);
  }
  const rel = (path: string) => {
    const r = relative(dir, path);
    return r.startsWith(".") ? r : `./${r}`;
  };
  await writeFile(join(dir, "kubelab-plan.json"), `${JSON.stringify(plan, null, 2)}\n`);
  // A copy, not a path into kubelab's own files: the root keeps working when kubelab moves or
  // is upgraded, and a re-render brings the module up to date with kubelab-plan.json.
  await cp(join(MODULES, "cluster"), join(dir, "modules", "cluster"), { recursive: true, force: true });
  const command = opts.command ?? renderingCommand();
  const outputs = [
    "kubeconfig_path",
    "kube_context",
    "api_endpoint",
    "node_names",
    "node_addresses",
    "lb_pools",
    "ui_url",
  ];
  const root = {
    "//": `kubelab render --terraform: the cluster ${plan.name} from ${rel(clusterFile)}. Run \`kubelab render --terraform\` again after changing the file or upgrading kubelab (kubelab-plan.json must match).`,
    terraform: { required_version: ">= 1.6" },
    variable: {
      kubelab_command: {
        type: "string",
        default: command,
        description: "the kubelab command (a shell prefix); by default the one that rendered this root",
      },
      bundle: { type: "string", default: null, description: "offline bundle for kubelab up --bundle (null: download)" },
    },
    module: {
      cluster: {
        source: "./modules/cluster",
        cluster_file: `\${path.module}/${rel(clusterFile)}`,
        plan_json: '${file("${path.module}/kubelab-plan.json")}',
        kubelab_command: "${var.kubelab_command}",
        bundle: "${var.bundle}",
      },
    },
    output: Object.fromEntries(outputs.map((o) => [o, { value: `\${module.cluster.${o}}` }])),
  };
  await writeFile(join(dir, "main.tf.json"), `${JSON.stringify(root, null, 2)}\n`);
  note(
    io,
    `wrote ${join(dir, "main.tf.json")}, kubelab-plan.json and modules/cluster (kubelab command: ${command}): tofu init && tofu apply (or terraform)`,
  );
}
