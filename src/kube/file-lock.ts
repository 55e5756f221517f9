/**
 * The lock kubeconfig writers share: `<file>.lock`, created with O_EXCL and removed when the
 * write is done, the name kubectl (client-go) uses for the same purpose, so kubelab and a
 * kubectl writing the same file at once wait for each other instead of one losing the other's
 * change. kubelab writes its pid in it; a lock whose pid is gone, or an empty one (kubectl's)
 * older than a write takes, is stale and taken over.
 */
import { open, readFile, stat, unlink } from "node:fs/promises";
import { UserError } from "../errors.js";
import { processAlive } from "../plan/cluster-lock.js";

/** How long a holder may keep the lock before we give up; a kubeconfig write takes milliseconds. */
const WAIT_MS = 10_000;
/** An empty lock older than this is left over, not being written. */
const EMPTY_STALE_MS = 5_000;

/** What a lock file says about its holder: its pid, or `undefined` when it names none. */
async function holderOf(lock: string): Promise<number | undefined> {
  const n = Number.parseInt(await readFile(lock, "utf8").catch(() => ""), 10);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

async function stale(lock: string): Promise<boolean> {
  const pid = await holderOf(lock);
  if (pid !== undefined) return !processAlive(pid);
  const st = await stat(lock).catch(() => undefined);
  return st !== undefined && Date.now() - st.mtimeMs > EMPTY_STALE_MS;
}

/**
 * withFileLock runs `fn` holding `<file>.lock`; `name` is how messages name the file. A live
 * holder is waited for (a few seconds), then a UserError names the lock.
 */
export async function withFileLock<T>(file: string, name: string, fn: () => Promise<T>, waitMs = WAIT_MS): Promise<T> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fh = await open(lock, "wx", 0o600);
      await fh.writeFile(`${process.pid}\n`).finally(() => fh.close());
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "EEXIST")
        throw new UserError(`${name}: cannot take the lock ${lock} (${code ?? (e as Error).message})`, { cause: e });
    }
    if (await stale(lock)) {
      await unlink(lock).catch(() => {});
      continue;
    }
    if (Date.now() > deadline) {
      const pid = await holderOf(lock);
      throw new UserError(`${name} is being changed by another process${pid ? ` (pid ${pid})` : ""}: ${lock} exists`, {
        exitCode: 1,
        hint: `try again; if no kubelab or kubectl is running, remove ${lock}`,
      });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => {});
  }
}
