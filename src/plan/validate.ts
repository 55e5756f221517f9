/**
 * validateCluster: raw data in, a plan or every problem out. Schema errors first; when
 * the shape is right, the semantic rules run on the derived plan.
 */

import { type ConfigSource, formatIssue, type LocatedIssue, locate } from "../config/issues.js";
import { type ClusterFile, clusterSchema } from "../config/schema.js";
import { fromZod } from "../config/schema-issues.js";
import { buildPlan } from "./build.js";
import { checkRules } from "./rules.js";
import type { Plan } from "./types.js";

/** MAX_NODES is the most nodes one cluster file may make (every group's count added up). */
export const MAX_NODES = 250;

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
  // Checked before the groups are expanded: a typo'd count must not make millions of nodes.
  const total = parsed.data.nodes.reduce((sum, n) => sum + n.count, 0);
  if (total > MAX_NODES) {
    const issue = {
      path: ["nodes"],
      message: `the file makes ${total} nodes; a lab has at most ${MAX_NODES}`,
      fix: "lower the nodes' count values, or split the lab into several clusters",
    };
    return { ok: false, errors: locate([issue], source), warnings: [] };
  }
  const plan = buildPlan(parsed.data);
  const report = checkRules(parsed.data, plan);
  const warnings = locate(report.warnings, source);
  if (report.errors.length > 0) return { ok: false, errors: locate(report.errors, source), warnings };
  return { ok: true, plan, file: parsed.data, warnings };
}

/**
 * formatResult prints the errors and warnings of a validation, one block each: every one, or
 * with `limit` the first `limit` and a line counting the rest (a generated file can hold
 * thousands, and the first few are what to fix first).
 */
export function formatResult(result: ValidationResult, opts: { limit?: number } = {}): string {
  const all = [
    ...(result.ok ? [] : result.errors.map((e) => formatIssue(e, "error"))),
    ...result.warnings.map((w) => formatIssue(w, "warning")),
  ];
  const limit = opts.limit ?? all.length;
  const lines = all.slice(0, limit);
  if (all.length > limit) lines.push(`… and ${all.length - limit} more (fix these first, then validate again)`);
  return lines.join("\n");
}
