/**
 * The host-side artifact store: release files (containerd, runc, CNI plugins, helm) are
 * downloaded once into a content-addressed cache, verified by sha256 on every use, and
 * uploaded to nodes over SSH, so nodes need no internet access of their own. An offline
 * bundle is the same store filled from a directory instead of the network.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { UserError } from "../errors.js";
import type { PinnedFile } from "../versions.js";
import { sha256 } from "./local.js";

/** Where pinned files come from. */
export interface ArtifactStore {
  /** get returns the verified bytes of a pinned file. */
  get(file: PinnedFile): Promise<Buffer>;
  /**
   * path returns a file on this host that holds the verified bytes, checked as they are read
   * and never held in memory whole, for a store that keeps its files on disk: large files
   * (images, packages) then stream from the disk to the nodes.
   */
  path?(file: PinnedFile): Promise<string>;
}

/** verifiedPath checks a file's sha256 as it streams through the hash, and returns its path. */
async function verifiedPath(file: PinnedFile, path: string, where: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  const got = hash.digest("hex");
  if (got !== file.sha256)
    throw new UserError(`sha256 mismatch for ${file.url} (${where})`, {
      details: `expected ${file.sha256}\ngot      ${got}`,
      hint: "the file is not the pinned one; nothing was installed",
    });
  return path;
}

/** The user's cache directory for kubelab downloads. */
export function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "kubelab", "downloads");
}

function verify(file: PinnedFile, data: Buffer, where: string): Buffer {
  const got = sha256(data);
  if (got !== file.sha256) {
    throw new UserError(`sha256 mismatch for ${file.url} (${where})`, {
      details: `expected ${file.sha256}\ngot      ${got}`,
      hint: "the download is not the pinned file; nothing was installed",
    });
  }
  return data;
}

/**
 * downloadError: a download that failed, named, with what to do (exit 1: not the user's
 * input); by default, that an offline bundle needs no network.
 */
export function downloadError(
  url: string,
  why: string,
  cause?: unknown,
  hint = "check the network, or use an offline bundle (kubelab bundle create, up --bundle)",
): UserError {
  return new UserError(`cannot download ${url}: ${why}`, { cause, exitCode: 1, hint });
}

/**
 * cachingStore downloads with `fetchImpl` into `dir/<sha256>` on first use; a cached file
 * that no longer matches its checksum is removed and fetched again.
 */
export function cachingStore(dir = defaultCacheDir(), fetchImpl: typeof fetch = fetch): ArtifactStore {
  return {
    async path(file) {
      const path = join(dir, file.sha256);
      const ok = await verifiedPath(file, path, path).then(
        () => true,
        () => false,
      );
      // Absent or damaged: get downloads it again (and removes a damaged copy first).
      if (!ok) await this.get(file);
      return path;
    },
    async get(file) {
      const path = join(dir, file.sha256);
      const cached = await readFile(path).catch(() => undefined);
      if (cached && sha256(cached) === file.sha256) return cached;
      if (cached) await rm(path, { force: true });
      await mkdir(dir, { recursive: true });
      const res = await fetchImpl(file.url).catch((e: Error) => {
        throw downloadError(file.url, e.message, e);
      });
      if (!res.ok || !res.body) throw downloadError(file.url, `HTTP ${res.status}`);
      const tmp = `${path}.partial-${process.pid}`;
      // Opened before the copy starts: a stream that opened its file only later could create it
      // after a broken-off download had already removed it.
      const out = await open(tmp, "w");
      try {
        await pipeline(
          Readable.fromWeb(res.body as import("node:stream/web").ReadableStream),
          out.createWriteStream(),
        ).catch((e: Error) => {
          throw downloadError(file.url, `the connection broke off (${e.message})`, e);
        });
        const data = verify(file, await readFile(tmp), "download");
        await rename(tmp, path);
        return data;
      } finally {
        await out.close().catch(() => {});
        await rm(tmp, { force: true });
      }
    },
  };
}

/**
 * directoryStore serves pinned files from a directory where each file is stored under its
 * sha256 (the layout of an offline bundle and of the download cache).
 */
export function directoryStore(dir: string): ArtifactStore {
  return {
    async path(file) {
      const path = join(dir, file.sha256);
      await stat(path).catch(() => {
        throw new UserError(`${file.url} is not in ${dir}`, { hint: "the bundle was made for other versions" });
      });
      return verifiedPath(file, path, dir);
    },
    async get(file) {
      const data = await readFile(join(dir, file.sha256)).catch(() => {
        throw new UserError(`${file.url} is not in ${dir}`, { hint: "the bundle was made for other versions" });
      });
      return verify(file, data, dir);
    },
  };
}
