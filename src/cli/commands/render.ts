import { mkdir, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { addonManifests } from "../../addons/index.js";
import { clusterState } from "../../addons/linkerd.js";
import { readPinnedFiles } from "../../artifacts/local.js";
import { writeTree } from "../../artifacts/tree.js";
import { DEFAULT_CLUSTER_YAML } from "../../config/default-cluster.js";
import { providerFor } from "../../providers/index.js";
import { renderCluster } from "../../render/cluster.js";
import type { ClusterChoice } from "../cluster-option.js";
import type { Io } from "../io.js";
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
  io.out(`wrote ${count} files for ${rendered.nodes.length} nodes to ${opts.out}`);
  if (rendered.missingUpstream.length > 0) {
    io.err(
      `not transformed (no pinned copy${opts.upstream ? ` in ${opts.upstream}` : "; pass --upstream DIR"}):\n${rendered.missingUpstream.map((f) => `  ${f.url}`).join("\n")}`,
    );
  }
}

/** Where the Terraform modules ship: `terraform/modules/` at the package root. */
const MODULES = fileURLToPath(new URL("../../../terraform/modules/", import.meta.url));

/**
 * renderTerraform writes a root module for the cluster file: `kubelab-plan.json` (the plan,
 * which Terraform cannot compute) and `main.tf.json` using the `cluster` module, with the
 * variables a user sets (the kubelab command, an offline bundle) and every output of the module.
 */
export async function renderTerraform(opts: ClusterChoice & { dir: string }, io: Io): Promise<void> {
  await checkOutDir("--terraform", opts.dir);
  const plan = await loadPlanOrFail(opts.file, io, opts.cwd);
  const dir = resolve(opts.dir);
  await mkdir(dir, { recursive: true });
  let clusterFile: string;
  if (opts.file) clusterFile = resolve(opts.file);
  else {
    clusterFile = join(dir, "kubelab.yaml");
    await writeFile(clusterFile, DEFAULT_CLUSTER_YAML);
  }
  const rel = (path: string) => {
    const r = relative(dir, path);
    return r.startsWith(".") ? r : `./${r}`;
  };
  await writeFile(join(dir, "kubelab-plan.json"), `${JSON.stringify(plan, null, 2)}\n`);
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
      kubelab_command: { type: "string", default: "kubelab", description: "the kubelab command (a shell prefix)" },
      bundle: { type: "string", default: null, description: "offline bundle for kubelab up --bundle (null: download)" },
    },
    module: {
      cluster: {
        source: rel(join(MODULES, "cluster")),
        cluster_file: `\${path.module}/${rel(clusterFile)}`,
        plan_json: '${file("${path.module}/kubelab-plan.json")}',
        kubelab_command: "${var.kubelab_command}",
        bundle: "${var.bundle}",
      },
    },
    output: Object.fromEntries(outputs.map((o) => [o, { value: `\${module.cluster.${o}}` }])),
  };
  await writeFile(join(dir, "main.tf.json"), `${JSON.stringify(root, null, 2)}\n`);
  io.out(`wrote ${join(dir, "main.tf.json")} and kubelab-plan.json: tofu init && tofu apply (or terraform)`);
}
