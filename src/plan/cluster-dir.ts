/**
 * The cluster directory, `.kubelab/<name>/` next to the cluster file: the SSH key of
 * machines kubelab made, known_hosts, kubeconfig, one log per invocation and the lock of
 * the command at work. Nothing in it describes the machines: their state lives on the
 * machines themselves.
 */
import { appendFile, mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { STDIN_FILE } from "../config/load.js";
import type { Plan } from "./types.js";

/**
 * clusterDir returns the cluster directory for a plan loaded from `file`; the cwd's for the
 * default and for standard input (`-`), which have no directory of their own.
 */
export function clusterDir(plan: Plan, file: string | undefined, cwd = process.cwd()): string {
  return resolve(file && file !== STDIN_FILE ? dirname(resolve(cwd, file)) : cwd, ".kubelab", plan.name);
}

/** Paths inside a cluster directory. */
export const clusterPaths = (dir: string) => ({
  key: join(dir, "id_ed25519"),
  knownHosts: join(dir, "known_hosts"),
  kubeconfig: join(dir, "kubeconfig"),
  logs: join(dir, "logs"),
  /** Held by the command changing the cluster (cluster-lock.ts). */
  lock: join(dir, "lock"),
});

/** A log file for one invocation; lines are appended as they come (secrets are never passed here). */
export async function openRunLog(
  dir: string,
  command: string,
): Promise<{ path: string; write: (line: string) => void; flush: () => Promise<void> }> {
  const logs = clusterPaths(dir).logs;
  await mkdir(logs, { recursive: true, mode: 0o700 });
  const path = join(logs, `${new Date().toISOString().replace(/[:.]/g, "-")}-${command}.log`);
  let chain = Promise.resolve();
  return {
    path,
    write: (line) => {
      const text = `${new Date().toISOString()} ${line}\n`;
      chain = chain.then(() => appendFile(path, text, { mode: 0o600 }));
    },
    flush: () => chain,
  };
}
