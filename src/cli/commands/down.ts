import { clusterDir } from "../../cluster/dir.js";
import { providerFor } from "../../providers/index.js";
import type { Io } from "../io.js";
import { loadPlanOrFail } from "./validated.js";

export interface DownOptions {
  file?: string;
}

/** down stops and removes the cluster's machines and everything the provider made for them. */
export async function down(opts: DownOptions, io: Io): Promise<void> {
  const plan = await loadPlanOrFail(opts.file, io);
  const provider = await providerFor(plan);
  await provider.destroy(plan, { clusterDir: clusterDir(plan, opts.file), log: (l) => io.err(`   ${l}`) });
  io.out(
    plan.provider.name === "ssh"
      ? `cluster ${plan.name}: existing hosts left as they are`
      : `cluster ${plan.name}: machines removed`,
  );
}
