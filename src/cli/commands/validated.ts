import type { LocatedIssue } from "../../config/issues.js";
import { displayName, findClusterFile } from "../../config/load.js";
import { UserError } from "../../errors.js";
import { loadCluster } from "../../plan/load-cluster.js";
import type { Plan } from "../../plan/types.js";
import type { ValidationResult } from "../../plan/validate.js";
import { formatResult } from "../../plan/validate.js";
import type { Io } from "../io.js";

/**
 * loadPlanOrFail loads and validates the cluster file (`cwd`: where a cluster without a file
 * lives, --name's); invalid input becomes a UserError listing the problems.
 */
export async function loadPlanOrFail(file: string | undefined, io: Io, cwd = process.cwd()): Promise<Plan> {
  return (await loadValidPlan(file, io, cwd)).plan;
}

/**
 * loadValidPlan is loadPlanOrFail that also returns the file's warnings (printed on stderr
 * too), for output that carries them.
 */
export async function loadValidPlan(
  file: string | undefined,
  io: Io,
  cwd = process.cwd(),
): Promise<{ plan: Plan; warnings: readonly LocatedIssue[] }> {
  const result = await loadFile(file, io, cwd);
  if (!result.ok) {
    throw invalidFile(file, result);
  }
  if (result.warnings.length > 0) io.err(formatResult(result));
  return result;
}

/** How many problems a command prints: a screen's worth. */
const SHOWN_PROBLEMS = 20;

/** loadFile notes the default lab when no file is found, then reads (`-`: from io's stdin) and validates. */
export async function loadFile(file: string | undefined, io: Io, cwd = process.cwd()): Promise<ValidationResult> {
  await noteDefault(file, io, cwd);
  return loadCluster(file, cwd, io.stdin);
}

/**
 * invalidFile is the UserError for a cluster file with errors: the count, then (unless left
 * out) the first screen of errors.
 */
export function invalidFile(
  file: string | undefined,
  result: ValidationResult,
  opts: { details?: boolean } = {},
): UserError {
  const n = result.ok ? 0 : result.errors.length;
  return new UserError(`${file ? displayName(file) : "the cluster file"} has ${n} error${n === 1 ? "" : "s"}`, {
    details: opts.details === false ? undefined : formatResult(result, { limit: SHOWN_PROBLEMS }),
  });
}

/** DEFAULT_NOTE is what a command says when no cluster file is given or found. */
export const DEFAULT_NOTE = "no kubelab.yaml here; using the built-in lab (kubelab init writes it)";

/**
 * noteDefault says, on stderr, that the built-in lab is used when there is no cluster file:
 * otherwise a command run in the wrong directory acts on a lab the user never described.
 */
export async function noteDefault(file: string | undefined, io: Io, cwd = process.cwd()): Promise<void> {
  if ((await findClusterFile(file, cwd)) === undefined) io.err(DEFAULT_NOTE);
}
