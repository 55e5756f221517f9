/**
 * Running checks over evidence, and saying what they found: a line per check, the evidence
 * and the fix under each one that did not pass, or JSON.
 */
import { clusterSchema } from "../config/schema.js";
import { cut, UserError } from "../errors.js";
import { buildPlan } from "../plan/build.js";
import type { Plan } from "../plan/types.js";
import { validateCluster } from "../plan/validate.js";
import { knownFailure } from "./known-failures.js";
import type { Check, CheckResult, Evidence, Finding, Verdict } from "./types.js";

const RANK: Record<Verdict, number> = { pass: 0, warn: 1, fail: 2 };

/** worst is the most severe verdict among findings. */
export function worst(findings: readonly Finding[]): Verdict {
  return findings.reduce<Verdict>((w, f) => (RANK[f.verdict] > RANK[w] ? f.verdict : w), "pass");
}

/**
 * planOf derives the plan from the evidence's cluster file: also when the file breaks a rule
 * (a pool on a node address), so the check that owns the rule can say so; undefined only when
 * the file does not even have the schema's shape.
 */
export function planOf(evidence: Evidence): Plan | undefined {
  const r = validateCluster(evidence.file);
  if (r.ok) return r.plan;
  const parsed = clusterSchema.safeParse(evidence.file);
  return parsed.success ? buildPlan(parsed.data) : undefined;
}

/** checkIds refuses --check names that are no check's, before any evidence is collected. */
export function checkIds(checks: readonly Check[], only?: readonly string[]): void {
  const unknown = (only ?? []).filter((id) => !checks.some((c) => c.id === id));
  if (unknown.length > 0)
    throw new UserError(`no check ${cut(unknown.join(", "))}`, { hint: "kubelab doctor --list names them" });
}

/**
 * runChecks runs `checks` (all of them, or those in `only`) on the evidence. A check whose
 * evidence is unavailable, or that finds nothing to look at, is skipped with the reason.
 */
export function runChecks(evidence: Evidence, checks: readonly Check[], only?: readonly string[]): CheckResult[] {
  checkIds(checks, only);
  const plan = planOf(evidence);
  return checks
    .filter((c) => !only || only.length === 0 || only.includes(c.id))
    .map((c): CheckResult => {
      const base = { id: c.id, title: c.title, references: c.references, see: knownFailure(c.id) };
      const missing = c.needs.filter((s) => s !== "file" && evidence[s] === undefined);
      if (missing.length > 0) {
        const why = missing.map((s) => `${s}: ${evidence.unavailable[s] ?? "not collected"}`).join("; ");
        return { ...base, verdict: "skip", findings: [], skipped: why };
      }
      if (!plan && c.id !== "file.valid")
        return { ...base, verdict: "skip", findings: [], skipped: "the cluster file does not have the schema's shape" };
      let findings: readonly Finding[];
      try {
        findings = c.run(evidence, plan as Plan);
      } catch (e) {
        findings = [{ verdict: "fail", evidence: [`the check itself failed: ${(e as Error).message}`] }];
      }
      if (findings.length === 0)
        return { ...base, verdict: "skip", findings, skipped: "does not apply to this cluster" };
      return { ...base, verdict: worst(findings), findings };
    });
}

const MARK = { pass: "✓", warn: "!", fail: "✗", skip: "-" } as const;

/**
 * formatResults: a line per check; under those that warn or fail, the evidence, the fix, and
 * where the failure is explained (the check's section of docs/known-failures.md).
 */
export function formatResults(results: readonly CheckResult[], opts: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  for (const r of results) {
    if (r.verdict === "skip" && !opts.verbose) continue;
    lines.push(`${MARK[r.verdict]} ${r.id}  ${r.title}${r.skipped ? ` (skipped: ${r.skipped})` : ""}`);
    for (const f of r.findings) {
      if (f.verdict === "pass" && !opts.verbose) continue;
      const head = f.subject ? `${f.subject}: ` : "";
      const [first = "", ...rest] = f.evidence;
      lines.push(`    ${MARK[f.verdict]} ${head}${first}`);
      for (const e of rest) lines.push(`      ${e}`);
      if (f.fix && f.verdict !== "pass") lines.push(`      fix: ${f.fix}`);
    }
    if (r.verdict === "fail" || r.verdict === "warn") lines.push(`      see: ${r.see}`);
  }
  const count = (v: CheckResult["verdict"]) => results.filter((r) => r.verdict === v).length;
  lines.push(
    `${count("fail")} failed, ${count("warn")} warned, ${count("pass")} passed, ${count("skip")} skipped (of ${results.length} checks)`,
  );
  return lines.join("\n");
}

/** exitCode: 1 when any check failed. */
export const exitCode = (results: readonly CheckResult[]) => (results.some((r) => r.verdict === "fail") ? 1 : 0);
