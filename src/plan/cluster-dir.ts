/**
 * The cluster directory, `.kubelab/<name>/` next to the cluster file: the SSH key of
 * machines kubelab made, known_hosts, kubeconfig, one log per invocation, the lock of
 * the command at work, and the record of the nodes `up` applied (so that one taken out of the
 * file can still be found and removed). The machines' state lives on the machines themselves.
 */
import { appendFile, mkdir, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { STDIN_FILE } from "../config/load.js";
import { UserError } from "../errors.js";
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
  /** The nodes `up` applied (applied-nodes.ts): how to find one taken out of the file. */
  appliedNodes: join(dir, "nodes.json"),
  /** Held by the command changing the cluster (cluster-lock.ts). */
  lock: join(dir, "lock"),
});

/** The `.gitignore` of `.kubelab/`: nothing in it (keys, admin kubeconfigs) belongs in a repository. */
export const KUBELAB_GITIGNORE =
  "# kubelab's cluster directories hold SSH keys and admin kubeconfigs: never commit them.\n*\n";

/**
 * ensureClusterDir creates the cluster directory (mode 0700) and, when its parent is a
 * `.kubelab` directory, a `.gitignore` there ignoring everything, so that a cluster file kept
 * in a repository does not drag the cluster's key and credentials in with `git add .`. An
 * existing `.gitignore` is left as the user made it.
 */
export async function ensureClusterDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
    throw directoryError(dir, "the cluster directory (its SSH key, known_hosts, kubeconfig and run logs)", e);
  });
  const parent = dirname(dir);
  if (basename(parent) !== ".kubelab") return;
  await writeFile(join(parent, ".gitignore"), KUBELAB_GITIGNORE, { flag: "wx" }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "EEXIST") throw directoryError(parent, "kubelab's directory beside the cluster file", e);
  });
}

/**
 * directoryError is the UserError for a directory kubelab keeps `what` in and cannot use: a
 * file in its place, no permission, a full disk. It names the directory and the fix.
 */
export function directoryError(dir: string, what: string, e: NodeJS.ErrnoException): UserError {
  const code = e.code ?? e.message;
  if (code === "EEXIST" || code === "ENOTDIR")
    return new UserError(`${dir} is not a directory (${code})`, {
      hint: `move the file away (mv ${dir} ${dir}.old): kubelab keeps ${what} there`,
      cause: e,
    });
  if (code === "ENOSPC")
    return new UserError(`no space left on the disk of ${dir}`, {
      hint: `free space there (df -h ${dir}): kubelab keeps ${what} there`,
      cause: e,
    });
  return new UserError(`${dir}: cannot write there (${code})`, {
    hint: `check its owner and mode (ls -ld ${dir}): kubelab keeps ${what} there`,
    cause: e,
  });
}

/**
 * removeCredentials deletes the cluster directory's SSH key pair and admin kubeconfig (what
 * `down` leaves no reason to keep); returns the paths that were there. known_hosts and the
 * logs stay: they hold no secret.
 */
export async function removeCredentials(dir: string): Promise<string[]> {
  const p = clusterPaths(dir);
  const removed: string[] = [];
  for (const path of [p.key, `${p.key}.pub`, p.kubeconfig]) {
    if (!(await stat(path).catch(() => undefined))) continue;
    await rm(path, { force: true });
    removed.push(path);
  }
  return removed;
}

/**
 * openRunLog makes the log file of one invocation; lines are appended as they come (secrets are
 * never passed here). A log directory kubelab cannot write to stops the command at once; a
 * line that cannot be written later (a full disk) makes flush() fail, never the process.
 */
export async function openRunLog(
  dir: string,
  command: string,
): Promise<{ path: string; write: (line: string) => void; flush: () => Promise<void> }> {
  const logs = clusterPaths(dir).logs;
  await ensureClusterDir(dir);
  const path = join(logs, `${new Date().toISOString().replace(/[:.]/g, "-")}-${command}.log`);
  const what = "one log per run";
  try {
    await mkdir(logs, { recursive: true, mode: 0o700 });
    await appendFile(path, "", { mode: 0o600 });
  } catch (e) {
    throw directoryError(logs, what, e as NodeJS.ErrnoException);
  }
  let chain = Promise.resolve();
  let failed: NodeJS.ErrnoException | undefined;
  return {
    path,
    write: (line) => {
      const text = `${new Date().toISOString()} ${line}\n`;
      chain = chain
        .then(() => (failed ? undefined : appendFile(path, text, { mode: 0o600 })))
        .catch((e: NodeJS.ErrnoException) => {
          failed ??= e;
        });
    },
    flush: async () => {
      await chain;
      if (failed) throw directoryError(logs, what, failed);
    },
  };
}
