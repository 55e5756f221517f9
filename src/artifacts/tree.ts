/** Writing rendered files into a directory tree, keeping their modes (0600 for secrets). */
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { RenderedFile } from "../render/types.js";

/** writeTree writes each file under `root` (absolute machine paths become relative). */
export async function writeTree(root: string, files: readonly RenderedFile[]): Promise<string[]> {
  const written: string[] = [];
  for (const f of files) {
    const path = join(root, f.path.replace(/^\/+/, ""));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, f.content, { mode: f.mode ?? 0o644 });
    // writeFile's mode applies only on creation; an existing file keeps its old mode otherwise.
    await chmod(path, f.mode ?? 0o644);
    written.push(path);
  }
  return written;
}
