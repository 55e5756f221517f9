/**
 * A cluster from the cluster index, loaded the way the commands load it (`--name`), with what
 * went wrong when it cannot be: its file is gone, or describes another cluster now.
 */
import type { ClusterEntry } from "../plan/cluster-index.js";
import { loadCluster } from "../plan/load-cluster.js";
import type { Plan } from "../plan/types.js";

/** What became of a recorded cluster's file. */
export type Recorded =
  | { readonly ok: true; readonly plan: Plan }
  /** `gone`: the file no longer exists or names another cluster; otherwise it has errors. */
  | { readonly ok: false; readonly gone: boolean; readonly problem: string };

/** origin says where a recorded cluster came from, for messages. */
export const origin = (e: ClusterEntry): string => e.file ?? `the built-in lab in ${e.cwd}`;

/** loadRecorded loads an entry's file (or the built-in lab from its directory) and checks it still names the cluster. */
export async function loadRecorded(entry: ClusterEntry): Promise<Recorded> {
  const loaded = await loadCluster(entry.file, entry.cwd).catch((e: Error) => e);
  if (loaded instanceof Error) return { ok: false, gone: true, problem: `${origin(entry)} cannot be read any more` };
  if (!loaded.ok) return { ok: false, gone: false, problem: `${origin(entry)} has errors (kubelab validate)` };
  if (loaded.plan.name !== entry.name) {
    return { ok: false, gone: true, problem: `${origin(entry)} now describes cluster ${loaded.plan.name}` };
  }
  return { ok: true, plan: loaded.plan };
}
