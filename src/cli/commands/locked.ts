import { clusterDir } from "../../plan/cluster-dir.js";
import { withClusterLock } from "../../plan/cluster-lock.js";
import type { Plan } from "../../plan/types.js";
import type { MachineProvider } from "../../providers/types.js";
import type { ClusterChoice } from "../cluster-option.js";
import type { Io } from "../io.js";
import { loadPlanOrFail } from "./validated.js";

/**
 * locked runs a command that changes the cluster holding its lock (cluster directory `dir`),
 * released however the command ends; a stale lock taken over is noted on stderr.
 */
export function locked<T>(plan: Plan, dir: string, command: string, io: Io, fn: () => Promise<T>): Promise<T> {
  return withClusterLock(dir, { cluster: plan.name, command, note: (line) => io.err(`note: ${line}`) }, fn);
}

/** What a command on an existing cluster's machines works with (a provider, the cluster directory, logging). */
export interface ClusterRun {
  readonly provider: MachineProvider;
  readonly clusterDir: string;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

/**
 * withCluster loads the chosen cluster and runs `fn` on it holding its lock, with its
 * provider, its directory, a log to stderr and the run's signal.
 */
export async function withCluster<T>(
  command: string,
  opts: ClusterChoice,
  io: Io,
  providerFor: (plan: Plan) => Promise<MachineProvider>,
  fn: (plan: Plan, run: ClusterRun) => Promise<T>,
): Promise<T> {
  const plan = await loadPlanOrFail(opts.file, io, opts.cwd);
  const dir = clusterDir(plan, opts.file, opts.cwd);
  return locked(plan, dir, command, io, async () =>
    fn(plan, { provider: await providerFor(plan), clusterDir: dir, log: (l) => io.err(`   ${l}`), signal: io.signal }),
  );
}
