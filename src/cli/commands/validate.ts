import { displayName } from "../../config/load.js";
import { formatResult } from "../../plan/validate.js";
import type { ClusterChoice } from "../cluster-option.js";
import { type Io, note } from "../io.js";
import { formatData, isData, issueData, type OutputFormat } from "../output.js";
import { invalidFile, loadFile } from "./validated.js";

export interface ValidateOptions extends ClusterChoice {
  output?: OutputFormat;
}

/**
 * validate checks a cluster file and reports every problem at once; with -o json|yaml the
 * errors and warnings are the output (on stdout, exit code as without).
 */
export async function validate(opts: ValidateOptions, io: Io): Promise<void> {
  const result = await loadFile(opts.file, io, opts.cwd);
  const name = opts.file ? displayName(opts.file) : "cluster file";
  if (isData(opts.output)) {
    io.out(
      formatData(opts.output, {
        file: name,
        valid: result.ok,
        nodes: result.ok ? result.plan.nodes.length : undefined,
        errors: result.ok ? [] : result.errors.map(issueData),
        warnings: result.warnings.map(issueData),
      }),
    );
    if (!result.ok) throw invalidFile(opts.file, result, { details: false });
    return;
  }
  const text = formatResult(result);
  if (!result.ok) throw invalidFile(opts.file, result);
  if (text) io.err(text);
  note(io, `${name}: valid (${result.plan.nodes.length} nodes)`);
}
