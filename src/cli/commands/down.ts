import { createInterface } from "node:readline/promises";
import { forgetKubeconfig } from "../../cluster/kubeconfig.js";
import { resetNodes } from "../../cluster/reset.js";
import { UserError } from "../../errors.js";
import { contextName, userKubeconfigPath } from "../../kube/kubeconfig.js";
import { clusterDir } from "../../plan/cluster-dir.js";
import { providerFor } from "../../providers/index.js";
import type { Io } from "../io.js";
import { loadPlanOrFail } from "./validated.js";

export interface DownOptions {
  file?: string;
  force?: boolean;
}

/** confirm asks on the terminal; without one, only --force may proceed. */
async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new UserError("kubelab down removes the cluster and needs confirmation", {
      hint: "run it on a terminal, or pass --force",
    });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/**
 * down removes the cluster: the machines kubelab made (and everything the provider made for
 * them), or, on existing hosts (ssh provider), the cluster only (kubeadm reset); then its
 * context from the user's kubeconfig.
 */
export async function down(opts: DownOptions, io: Io): Promise<void> {
  const plan = await loadPlanOrFail(opts.file, io);
  const provider = await providerFor(plan);
  const ctx = { clusterDir: clusterDir(plan, opts.file), log: (l: string) => io.err(`   ${l}`) };
  const forget = async () => {
    const file = userKubeconfigPath();
    return (await forgetKubeconfig(plan, file)) ? `; context ${contextName(plan)} removed from ${file}` : "";
  };
  if (plan.provider.name === "ssh") {
    const names = plan.nodes.map((n) => n.name).join(", ");
    if (
      !opts.force &&
      !(await confirm(`Reset Kubernetes (kubeadm reset) on the existing hosts of cluster ${plan.name} (${names})?`))
    )
      throw new UserError("nothing reset", { exitCode: 1 });
    const reset = await resetNodes(plan, provider, ctx.clusterDir, ctx.log);
    io.out(
      `cluster ${plan.name}: ${reset.length > 0 ? `kubeadm reset on ${reset.join(", ")}` : "no node had a cluster"}; the hosts stay${await forget()}`,
    );
    return;
  }
  const machines = (await provider.list(plan, ctx)).filter((m) => m.state !== "absent");
  if (
    machines.length > 0 &&
    !opts.force &&
    !(await confirm(
      `Remove ${machines.length} machines of cluster ${plan.name} (${machines.map((m) => m.node).join(", ")})?`,
    ))
  ) {
    throw new UserError("nothing removed", { exitCode: 1 });
  }
  await provider.destroy(plan, ctx);
  const forgot = await forgetKubeconfig(plan, userKubeconfigPath());
  io.out(
    `cluster ${plan.name}: machines removed${forgot ? `, context ${contextName(plan)} removed from ${userKubeconfigPath()}` : ""}`,
  );
}
