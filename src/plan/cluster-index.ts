/**
 * The cluster index: which clusters `kubelab up` made on this machine, and from where, in
 * `${XDG_STATE_HOME:-~/.local/state}/kubelab/clusters.json`. It only says where a cluster's
 * file and directory are; whether its machines still exist is asked of the provider each time.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { UserError } from "../errors.js";

/** A cluster made on this machine, as recorded by `up`. */
export interface ClusterEntry {
  readonly name: string;
  /** The cluster file's absolute path; absent for the built-in lab. */
  readonly file?: string;
  /** The directory `up` ran in: where a built-in lab's cluster directory is. */
  readonly cwd: string;
  /** The cluster directory (.kubelab/<name>/). */
  readonly clusterDir: string;
  readonly provider: string;
  /** When `up` first made its machines (ISO 8601). */
  readonly created: string;
}

/** clusterIndexPath is where the index lives, after the XDG base directory rules (a relative XDG_STATE_HOME is ignored). */
export function clusterIndexPath(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : undefined;
  return join(state ?? join(env.HOME || homedir(), ".local", "state"), "kubelab", "clusters.json");
}

/** readClusterIndex returns the recorded clusters, none when the index does not exist yet. */
export async function readClusterIndex(path: string): Promise<ClusterEntry[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const clusters = (parsed as { clusters?: unknown } | undefined)?.clusters;
  if (!Array.isArray(clusters) || !clusters.every(isEntry)) {
    throw new UserError(`the cluster index ${path} is damaged`, {
      hint: `remove it (rm ${path}); kubelab up records each cluster again`,
    });
  }
  return clusters;
}

function isEntry(x: unknown): x is ClusterEntry {
  const e = x as Record<string, unknown>;
  return (
    typeof e === "object" &&
    e !== null &&
    ["name", "cwd", "clusterDir", "provider", "created"].every((k) => typeof e[k] === "string") &&
    (e.file === undefined || typeof e.file === "string")
  );
}

/**
 * recordCluster adds or replaces the entry of the cluster with that name (a kubeconfig
 * context is per name, so one name is one cluster); a cluster recorded again from the same
 * directory keeps its creation time.
 */
export async function recordCluster(path: string, entry: ClusterEntry): Promise<void> {
  const clusters = await readClusterIndex(path);
  const old = clusters.find((c) => c.name === entry.name);
  const kept = old?.clusterDir === entry.clusterDir ? { ...entry, created: old.created } : entry;
  await writeIndex(path, [...clusters.filter((c) => c.name !== entry.name), kept]);
}

/**
 * forgetCluster removes the entry of cluster `name` made in `clusterDir` (a cluster of the
 * same name made elsewhere stays); true when there was one.
 */
export async function forgetCluster(path: string, name: string, clusterDir: string): Promise<boolean> {
  const clusters = await readClusterIndex(path);
  const rest = clusters.filter((c) => !(c.name === name && c.clusterDir === clusterDir));
  if (rest.length === clusters.length) return false;
  await writeIndex(path, rest);
  return true;
}

/** writeIndex replaces the file in one rename, so a reader never sees half of it. */
async function writeIndex(path: string, clusters: readonly ClusterEntry[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  const sorted = [...clusters].sort((a, b) => a.name.localeCompare(b.name));
  await writeFile(tmp, `${JSON.stringify({ clusters: sorted }, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}
