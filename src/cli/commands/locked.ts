import { withClusterLock } from "../../plan/cluster-lock.js";
import type { Plan } from "../../plan/types.js";
import type { Io } from "../io.js";

/**
 * locked runs a command that changes the cluster holding its lock (cluster directory `dir`),
 * released however the command ends; a stale lock taken over is noted on stderr.
 */
export function locked<T>(plan: Plan, dir: string, command: string, io: Io, fn: () => Promise<T>): Promise<T> {
  return withClusterLock(dir, { cluster: plan.name, command, note: (line) => io.err(`note: ${line}`) }, fn);
}
