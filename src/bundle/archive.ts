/**
 * A bundle as one file: the bundle directory in a plain tar (its contents are compressed
 * already). `bundle create --out X.tar` writes one; `up --bundle X.tar` unpacks it once into
 * the download cache (keyed by the file's name, size and time) and uses that directory.
 */
import { execFile } from "node:child_process";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { BUNDLE_MANIFEST } from "../artifacts/offline-bundle.js";
import { defaultCacheDir } from "../artifacts/store.js";
import { UserError } from "../errors.js";

const execFileP = promisify(execFile);

/** isArchivePath: where `bundle create` writes a single file instead of a directory. */
export const isArchivePath = (path: string) => path.endsWith(".tar");

/** packBundle turns a bundle directory into `out` (a tar), removing the directory. */
export async function packBundle(dir: string, out: string): Promise<void> {
  const tmp = `${out}.partial-${process.pid}`;
  try {
    await execFileP("tar", ["-C", dir, "-cf", tmp, "."], { maxBuffer: 16 * 1024 * 1024 });
    await rename(tmp, out);
  } finally {
    await rm(tmp, { force: true });
  }
  await rm(dir, { recursive: true, force: true });
}

/** openBundle returns the bundle directory for `path`: the path itself, or where its archive is unpacked. */
export async function openBundle(
  path: string,
  cacheDir = join(dirname(defaultCacheDir()), "bundles"),
): Promise<string> {
  const st = await stat(path).catch(() => {
    throw new UserError(`no bundle at ${path}`, { hint: "make one with kubelab bundle create --out PATH" });
  });
  if (st.isDirectory()) return path;
  const dir = join(cacheDir, `${basename(path)}-${st.size}-${Math.floor(st.mtimeMs)}`);
  const done = await stat(join(dir, BUNDLE_MANIFEST)).then(
    () => true,
    () => false,
  );
  if (done) return dir;
  if (!(await isTar(path)))
    throw new UserError(`${path} is not a kubelab bundle: it is neither a directory nor a tar archive`, {
      hint: "pass the directory or the .tar that kubelab bundle create --out wrote",
    });
  const tmp = `${dir}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    // As root, tar would keep the archive's owners and modes (setuid included): a bundle
    // from elsewhere must not plant root-owned setuid files in the cache.
    await execFileP("tar", ["-C", tmp, "--no-same-owner", "--no-same-permissions", "-xf", path]);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    // tar's first complaint names the damage; the rest repeats it for every member.
    const first = String((e as { stderr?: string }).stderr ?? "").split("\n")[0] || (e as Error).message;
    throw new UserError(`${path} is not a readable bundle archive: ${first.slice(0, 300)}`, {
      hint: "make it again with kubelab bundle create --out FILE.tar (a copy may have been cut short)",
    });
  }
  if (!(await stat(join(tmp, BUNDLE_MANIFEST)).catch(() => undefined))) {
    await rm(tmp, { recursive: true, force: true });
    throw new UserError(`${path} is a tar archive but not a kubelab bundle: it holds no ${BUNDLE_MANIFEST}`, {
      hint: "pass the .tar that kubelab bundle create --out wrote",
    });
  }
  await rename(tmp, dir);
  return dir;
}

/** isTar looks for the POSIX tar magic ("ustar" at byte 257) that GNU and BSD tar both write. */
async function isTar(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const head = Buffer.alloc(263);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return bytesRead === head.length && head.subarray(257, 262).toString("latin1") === "ustar";
  } finally {
    await fh.close();
  }
}
