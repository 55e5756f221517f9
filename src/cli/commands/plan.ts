import { leftTheFile, readAppliedNodes } from "../../plan/applied-nodes.js";
import { clusterDir } from "../../plan/cluster-dir.js";
import { describePlan } from "../../plan/describe.js";
import type { ClusterChoice } from "../cluster-option.js";
import type { Io } from "../io.js";
import { issueData, type OutputFormat, printOutput } from "../output.js";
import { loadValidPlan } from "./validated.js";

export interface PlanOptions extends ClusterChoice {
  output: OutputFormat;
}

/**
 * plan prints the derived plan of the cluster file (or the embedded default); as data, with
 * the file's warnings. Nodes `up` made that the file no longer has (the cluster directory's
 * record) are listed to remove.
 */
export async function plan(opts: PlanOptions, io: Io): Promise<void> {
  const { plan: p, warnings } = await loadValidPlan(opts.file, io, opts.cwd);
  const toRemove = leftTheFile(p, await readAppliedNodes(clusterDir(p, opts.file, opts.cwd)));
  printOutput(
    io,
    opts.output,
    { ...p, warnings: warnings.map(issueData), toRemove: toRemove.map(({ name, role, ip }) => ({ name, role, ip })) },
    () => describePlan(p, { width: io.columns, toRemove }),
  );
}
