import { createInterface } from "node:readline/promises";
import { clusterDir } from "../../cluster/dir.js";
import { forgetKubeconfig } from "../../cluster/kubeconfig.js";
import { UserError } from "../../errors.js";
import { contextName, userKubeconfigPath } from "../../kube/kubeconfig.js";
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
    throw new UserError("kubelab down removes machines and needs confirmation", {
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

/** down stops and removes the cluster's machines and everything the provider made for them. */
export async function down(opts: DownOptions, io: Io): Promise<void> {
  const plan = await loadPlanOrFail(opts.file, io);
  const provider = await providerFor(plan);
  const ctx = { clusterDir: clusterDir(plan, opts.file), log: (l: string) => io.err(`   ${l}`) };
  if (plan.provider.name === "ssh") {
    io.out(`cluster ${plan.name}: existing hosts are left as they are`);
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
