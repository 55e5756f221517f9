import { fetchKubeconfig, saveKubeconfig } from "../../cluster/kubeconfig.js";
import { checkKubeconfig, contextName, userKubeconfigPath } from "../../kube/kubeconfig.js";
import { clusterDir } from "../../plan/cluster-dir.js";
import { providerFor } from "../../providers/index.js";
import type { ClusterChoice } from "../cluster-option.js";
import { type Io, note } from "../io.js";
import { loadPlanOrFail } from "./validated.js";

export interface KubeconfigOptions extends ClusterChoice {
  print?: boolean;
}

/**
 * kubeconfig fetches the cluster's admin kubeconfig from the first control plane and merges
 * it into the user's kubeconfig as context kubelab-<name> (or prints it with --print).
 */
export async function kubeconfig(opts: KubeconfigOptions, io: Io): Promise<void> {
  const plan = await loadPlanOrFail(opts.file, io, opts.cwd);
  const dir = clusterDir(plan, opts.file, opts.cwd);
  if (!opts.print) await checkKubeconfig(userKubeconfigPath());
  const config = await fetchKubeconfig(plan, await providerFor(plan), dir);
  if (opts.print) {
    io.out(config.trimEnd());
    return;
  }
  const [, merged] = await saveKubeconfig(config, dir, userKubeconfigPath());
  note(io, `context ${contextName(plan)} written to ${merged} (current context): kubectl get nodes`);
}
