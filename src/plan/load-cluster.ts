/** Loading a cluster file in one step: find it, read it (config/load.ts), validate it and derive its plan. */
import { findClusterFile, readClusterSource, type StdinReader } from "../config/load.js";
import { type ValidationResult, validateCluster } from "./validate.js";

/** loadCluster finds, reads and validates a cluster file in one step (`-`: standard input, read by `stdin`). */
export async function loadCluster(
  file: string | undefined,
  cwd = process.cwd(),
  stdin?: StdinReader,
): Promise<ValidationResult> {
  const loaded = await readClusterSource(await findClusterFile(file, cwd), cwd, stdin);
  if ("errors" in loaded) return { ok: false, errors: loaded.errors, warnings: [] };
  return validateCluster(loaded.raw, loaded.source);
}
