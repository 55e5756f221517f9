import { describePlan } from "../../plan/describe.js";
import type { ClusterChoice } from "../cluster-option.js";
import type { Io } from "../io.js";
import { loadPlanOrFail } from "./validated.js";

export interface PlanOptions extends ClusterChoice {
  output: "text" | "json";
}

/** plan prints the derived plan of the cluster file (or the embedded default). */
export async function plan(opts: PlanOptions, io: Io): Promise<void> {
  const p = await loadPlanOrFail(opts.file, io, opts.cwd);
  io.out(opts.output === "json" ? JSON.stringify(p, null, 2) : describePlan(p));
}
