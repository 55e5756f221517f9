/**
 * Pinned upstream files from a local directory laid out as `<project>/<tag>/<path>` (the
 * layout of a repository checkout at a tag, grouped by project), verified by sha256.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../errors.js";
import type { PinnedFile } from "../versions.js";

/** localPath maps a pinned raw.githubusercontent.com URL to `<dir>/<project>/<tag>/<path>`. */
export function localPath(dir: string, file: PinnedFile): string {
  const m = /^https:\/\/raw\.githubusercontent\.com\/[^/]+\/([^/]+)\/([^/]+)\/(.+)$/.exec(file.url);
  if (!m) throw new Error(`localPath: ${file.url} is not a raw GitHub URL`);
  const [, project = "", tag = "", path = ""] = m;
  return join(dir, project, tag, path);
}

/** sha256 of a buffer or string, hex. */
export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * readPinnedFiles reads each pinned file from `dir`; a file that is absent is left out, a
 * file whose sha256 differs is an error naming the file, what was expected and what was found.
 */
export async function readPinnedFiles(dir: string, files: readonly PinnedFile[]): Promise<Map<PinnedFile, string>> {
  const out = new Map<PinnedFile, string>();
  for (const file of files) {
    const path = localPath(dir, file);
    const data = await readFile(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return undefined;
      throw e;
    });
    if (!data) continue;
    const got = sha256(data);
    if (got !== file.sha256) {
      throw new UserError(`${path}: sha256 mismatch for ${file.url}`, {
        details: `expected ${file.sha256}\ngot      ${got}`,
        hint: "the file is not the pinned upstream version; replace it or remove it",
      });
    }
    out.set(file, data.toString("utf8"));
  }
  return out;
}
