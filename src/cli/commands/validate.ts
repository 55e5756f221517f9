import { loadCluster } from "../../plan/load-cluster.js";
import { formatResult } from "../../plan/validate.js";
import type { ClusterChoice } from "../cluster-option.js";
import type { Io } from "../io.js";
import { invalidFile, noteDefault } from "./validated.js";

export interface ValidateOptions extends ClusterChoice {}

/** validate checks a cluster file and reports every problem at once. */
export async function validate(opts: ValidateOptions, io: Io): Promise<void> {
  await noteDefault(opts.file, io, opts.cwd);
  const result = await loadCluster(opts.file, opts.cwd);
  const text = formatResult(result);
  if (!result.ok) throw invalidFile(opts.file, result);
  if (text) io.err(text);
  io.out(`${opts.file ?? "cluster file"}: valid (${result.plan.nodes.length} nodes)`);
}
