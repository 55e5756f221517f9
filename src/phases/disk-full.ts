/**
 * A node's disk filling up while kubelab installs packages or writes files: the failure is
 * said as what it is, with the node, the path (or the packages) and the fix, instead of a
 * command's exit status and a tail of dpkg's output, or SFTP's bare "Failure".
 */
import { CommandError, DiskFullError } from "../errors.js";
import type { Remote } from "../remote/types.js";

/** What tools print when a write finds the disk (or the user's quota) full. */
const FULL =
  /No space left on device|ENOSPC|Disk quota exceeded|EDQUOT|You don't have enough free space|curl: \(23\) Failure writing output/i;

/** Where the output says the write failed: dpkg's `'<path>'`, apt's `free space in <dir>`. */
const WHERE = [/'(\/[^'\n]+)'[^\n]*No space left on device/, /free space in (\/\S+?)\.?$/m];

/** Below this much free space (KiB) a failed write is put down to a full disk. */
const NEARLY_FULL_KIB = 1024;

/** errorText is everything an error says: its message, and a failed command's output. */
function errorText(e: unknown): string {
  if (e instanceof CommandError) return `${e.message}\n${e.tail}`;
  return e instanceof Error ? `${e.message}\n${e.cause instanceof Error ? e.cause.message : ""}` : String(e);
}

/**
 * freeKiB asks the node how much room is left on the filesystem holding `dir` (undefined when
 * df cannot say: no such directory, no df).
 */
async function freeKiB(remote: Remote, dir: string): Promise<number | undefined> {
  const r = await remote.exec(["df", "-Pk", "--", dir]).catch(() => undefined);
  if (r?.code !== 0) return undefined;
  // POSIX output: a header, then "filesystem blocks used available capacity mountpoint".
  const available = Number(r.stdout.trim().split("\n").at(-1)?.trim().split(/\s+/)[3]);
  return Number.isFinite(available) ? available : undefined;
}

const dirOf = (path: string) => path.slice(0, path.lastIndexOf("/")) || "/";

/**
 * whileWriting runs `fn`, which writes `path` on the node (a directory when it ends in /); a failure that says the disk is
 * full, or (SFTP says only "Failure") one after which the node's filesystem is nearly full,
 * becomes a {@link DiskFullError} naming the node and the path.
 */
export async function whileWriting<T>(
  remote: Remote,
  path: string,
  fn: () => Promise<T>,
  doing = `writing ${path}`,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof DiskFullError) throw e;
    const free = FULL.test(errorText(e)) ? 0 : await freeKiB(remote, path.endsWith("/") ? path : dirOf(path));
    if (free !== undefined && free < NEARLY_FULL_KIB) throw new DiskFullError(remote.node, doing, e);
    throw e;
  }
}

/**
 * whileInstalling runs `fn`, which installs `packages` (apt, dpkg); output saying the disk is
 * full becomes a {@link DiskFullError} naming the node, the packages and, when the output
 * says, the path.
 */
export async function whileInstalling<T>(remote: Remote, packages: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const text = errorText(e);
    if (e instanceof DiskFullError || !FULL.test(text)) throw e;
    const path = WHERE.map((re) => re.exec(text)?.[1]).find((p) => p !== undefined);
    throw new DiskFullError(remote.node, `installing ${packages}${path ? ` (writing ${path})` : ""}`, e);
  }
}
