/**
 * validateCluster: raw data in, a plan or every problem out. Schema errors first; when
 * the shape is right, the semantic rules run on the derived plan.
 */
import { buildPlan } from "../plan/build.js";
import type { Plan } from "../plan/types.js";
import { type ConfigSource, type LocatedIssue, locate } from "./issues.js";
import { checkRules } from "./rules.js";
import { type ClusterFile, clusterSchema } from "./schema.js";
import { fromZod } from "./schema-issues.js";

/** The outcome of validating a cluster file: never an exception for bad input. */
export type ValidationResult =
  | { readonly ok: true; readonly plan: Plan; readonly file: ClusterFile; readonly warnings: readonly LocatedIssue[] }
  | { readonly ok: false; readonly errors: readonly LocatedIssue[]; readonly warnings: readonly LocatedIssue[] };

/** validateCluster checks raw cluster-file data and, if it is sound, derives its plan. */
export function validateCluster(raw: unknown, source: ConfigSource = { file: "(inline)" }): ValidationResult {
  const parsed = clusterSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, errors: locate(fromZod(clusterSchema, parsed.error, raw), source), warnings: [] };
  }
  const plan = buildPlan(parsed.data);
  const report = checkRules(parsed.data, plan);
  const warnings = locate(report.warnings, source);
  if (report.errors.length > 0) return { ok: false, errors: locate(report.errors, source), warnings };
  return { ok: true, plan, file: parsed.data, warnings };
}
