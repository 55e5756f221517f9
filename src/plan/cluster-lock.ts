/**
 * The cluster lock: one command that changes a cluster (up, down, image bake) at a time.
 * Two at once would race on the same machines, known_hosts and kubeconfig, so the second
 * stops at once and says who holds the lock. The lock is a file in the cluster directory,
 * created with O_EXCL (the one atomic test-and-set every file system offers), holding who
 * made it. A lock whose process is gone, or was made before the host last booted (its pid
 * may name another process now), is taken over with a note.
 */
import { link, mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { UserError } from "../errors.js";
import { clusterPaths, directoryError } from "./cluster-dir.js";
import { removeOnExit } from "./remove-on-exit.js";

/** What a lock file holds: who locked the cluster, and when. */
export interface LockHolder {
  readonly pid: number;
  /** ISO 8601, to the second. */
  readonly since: string;
  /** The kubelab command holding it (`up`, `down`, `image bake`). */
  readonly command: string;
  /** The host's boot it was taken in (/proc/sys/kernel/random/boot_id); absent off Linux. */
  readonly bootId?: string;
}

/** ClusterBusy: another live kubelab process holds the cluster's lock. */
export class ClusterBusy extends UserError {
  readonly holder?: LockHolder;
  constructor(cluster: string, path: string, holder: LockHolder | undefined) {
    super(
      holder
        ? `cluster ${cluster} is busy (pid ${holder.pid}, since ${holder.since}): kubelab ${holder.command} is working on it`
        : `cluster ${cluster} is busy: another kubelab is taking its lock`,
      {
        // Not the user's input: a failure to act now, not a usage error.
        exitCode: 1,
        hint: holder
          ? `wait for it to end, or stop it (kill ${holder.pid}); a lock left by a process that is gone is taken over by the next run (${path})`
          : `try again in a moment (${path})`,
      },
    );
    this.holder = holder;
  }
}

/** A lock held by this process. */
export interface ClusterLock {
  readonly path: string;
  /** release removes the lock if it is still this one; calling it twice is harmless. */
  release(): Promise<void>;
}

/** Options of {@link lockCluster}; the ones after `note` let tests stand in for the process and host. */
export interface LockOptions {
  /** The cluster's name, for messages. */
  readonly cluster: string;
  /** The command taking the lock, as the user typed it after `kubelab`. */
  readonly command: string;
  /** Told when a stale lock is taken over. */
  readonly note?: (line: string) => void;
  /** @default process.pid */
  readonly pid?: number;
  /** @default this host's boot id */
  readonly bootId?: string;
  /** Whether a process lives. @default signal 0 */
  readonly alive?: (pid: number) => boolean;
}

/** A lock file younger than this with no readable content may be being written right now. */
const WRITING_GRACE_MS = 5_000;

/**
 * lockCluster takes the lock of the cluster directory `dir` (creating the directory), or
 * throws {@link ClusterBusy} when a live process holds it.
 */
export async function lockCluster(dir: string, opts: LockOptions): Promise<ClusterLock> {
  const path = clusterPaths(dir).lock;
  await mkdir(dir, { recursive: true, mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
    throw directoryError(dir, "the cluster directory (its lock, SSH key, known_hosts, kubeconfig and run logs)", e);
  });
  const mine: LockHolder = {
    pid: opts.pid ?? process.pid,
    since: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    command: opts.command,
    bootId: "bootId" in opts ? opts.bootId : await currentBootId(),
  };
  const text = `${JSON.stringify(mine)}\n`;
  // A takeover can lose a race with another one; a few rounds settle it.
  for (let round = 0; round < 3; round++) {
    if (await createExclusive(path, text)) {
      const forget = removeOnExit(path);
      return { path, release: () => release(path, text, forget) };
    }
    const found = await readFile(path, "utf8").catch(ifMissing(undefined));
    if (found === undefined) continue; // released in between
    const holder = parseHolder(found);
    const why = await staleness(path, holder, mine.bootId, opts.alive ?? processAlive);
    if (why === undefined) throw new ClusterBusy(opts.cluster, path, holder);
    if (!(await takeOver(path, found))) throw new ClusterBusy(opts.cluster, path, parseHolder(found));
    opts.note?.(
      holder
        ? `took over the lock of cluster ${opts.cluster} left by kubelab ${holder.command} (pid ${holder.pid}, since ${holder.since}): ${why}`
        : `took over the unreadable lock of cluster ${opts.cluster}: ${why}`,
    );
  }
  throw new ClusterBusy(opts.cluster, path, undefined);
}

/** withClusterLock runs `fn` holding the cluster's lock, released however `fn` ends. */
export async function withClusterLock<T>(dir: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await lockCluster(dir, opts);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** createExclusive creates `path` with `text` unless it exists (O_CREAT|O_EXCL); false when it did. */
async function createExclusive(path: string, text: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "wx", 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
  try {
    await handle.writeFile(text);
  } catch (e) {
    await handle.close().catch(() => {});
    await rm(path, { force: true });
    throw e;
  }
  await handle.close();
  return true;
}

/** staleness says why a lock no longer counts, or undefined when its holder may still run. */
async function staleness(
  path: string,
  holder: LockHolder | undefined,
  bootId: string | undefined,
  isAlive: (pid: number) => boolean,
): Promise<string | undefined> {
  if (!holder) {
    const age = await stat(path).then(
      (s) => Date.now() - s.mtimeMs,
      () => Number.POSITIVE_INFINITY,
    );
    return age > WRITING_GRACE_MS ? "it held no owner" : undefined;
  }
  if (holder.bootId && bootId && holder.bootId !== bootId) return "it was taken before the host last booted";
  return isAlive(holder.pid) ? undefined : `process ${holder.pid} is no longer running`;
}

/**
 * takeOver removes a stale lock whose content was `seen`: moved aside first, so that of two
 * processes taking it over at once only one removes it. Should the file moved aside turn out
 * to be a fresh lock (someone else won and locked in between), it is put back; false then.
 */
async function takeOver(path: string, seen: string): Promise<boolean> {
  const aside = `${path}.stale-${process.pid}`;
  try {
    await rename(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return true; // gone already: try to create
    throw e;
  }
  const moved = await readFile(aside, "utf8").catch(ifMissing(undefined));
  if (moved !== undefined && moved !== seen) {
    await link(aside, path).catch(() => {});
    await rm(aside, { force: true });
    return false;
  }
  await rm(aside, { force: true });
  return true;
}

/** release removes the lock file when it still holds this process's content. */
async function release(path: string, text: string, forget: () => void): Promise<void> {
  forget();
  const found = await readFile(path, "utf8").catch(ifMissing(undefined));
  if (found === text) await rm(path, { force: true });
}

/** parseHolder reads a lock file's content; undefined when it is not one. */
function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder> | null;
    if (v && Number.isInteger(v.pid) && typeof v.since === "string" && typeof v.command === "string") {
      return v as LockHolder;
    }
  } catch {
    // not JSON: half written, or not ours
  }
  return undefined;
}

/** processAlive tells whether a process exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, as another user.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** currentBootId: this boot's id on Linux, undefined elsewhere. */
async function currentBootId(): Promise<string | undefined> {
  return (await readFile("/proc/sys/kernel/random/boot_id", "utf8").catch(() => undefined))?.trim() || undefined;
}

/** ifMissing turns ENOENT into `value` and rethrows everything else. */
const ifMissing =
  <T>(value: T) =>
  (e: NodeJS.ErrnoException): T => {
    if (e.code === "ENOENT") return value;
    throw e;
  };
