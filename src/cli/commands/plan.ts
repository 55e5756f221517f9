import { describePlan } from "../../plan/describe.js";
import type { ClusterChoice } from "../cluster-option.js";
import type { Io } from "../io.js";
import { issueData, type OutputFormat, printOutput } from "../output.js";
import { loadValidPlan } from "./validated.js";

export interface PlanOptions extends ClusterChoice {
  output: OutputFormat;
}

/** plan prints the derived plan of the cluster file (or the embedded default); as data, with the file's warnings. */
export async function plan(opts: PlanOptions, io: Io): Promise<void> {
  const { plan: p, warnings } = await loadValidPlan(opts.file, io, opts.cwd);
  printOutput(io, opts.output, { ...p, warnings: warnings.map(issueData) }, () =>
    describePlan(p, { width: io.columns }),
  );
}
