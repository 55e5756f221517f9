import { displayName, findClusterFile, readClusterSource } from "../../config/load.js";
import { CHECKS } from "../../doctor/checks/index.js";
import { collectEvidence } from "../../doctor/collect.js";
import { readEvidence, writeEvidence } from "../../doctor/dump.js";
import { checkIds, exitCode, formatResults, runChecks } from "../../doctor/run.js";
import type { Evidence } from "../../doctor/types.js";
import { UserError } from "../../errors.js";
import { clusterDir } from "../../plan/cluster-dir.js";
import { providerFor } from "../../providers/index.js";
import type { ClusterChoice } from "../cluster-option.js";
import { type Io, note } from "../io.js";
import { type OutputFormat, printOutput } from "../output.js";
import { checkOutDir } from "./dir-flags.js";
import { loadPlanOrFail } from "./validated.js";

export interface DoctorOptions extends ClusterChoice {
  check?: string[];
  output: OutputFormat;
  from?: string;
  list?: boolean;
  verbose?: boolean;
}

/** evidenceFor collects live evidence for the cluster file (progress on stderr). */
async function liveEvidence({ file, cwd }: ClusterChoice, io: Io): Promise<Evidence> {
  const plan = await loadPlanOrFail(file, io, cwd);
  const found = await findClusterFile(file, cwd);
  const source = await readClusterSource(found, cwd, io.stdin);
  if ("errors" in source) throw new UserError(`${file ? displayName(file) : "the cluster file"} cannot be read`);
  return collectEvidence({
    plan,
    file: source.raw,
    provider: await providerFor(plan),
    clusterDir: clusterDir(plan, file, cwd),
    log: (line) => io.err(` • ${line}`),
  });
}

/**
 * doctor runs every check that applies (or those named with --check) on live evidence, or
 * on a dump with --from; exit 1 when any check fails.
 */
export async function doctor(opts: DoctorOptions, io: Io): Promise<number> {
  if (opts.list) {
    printOutput(
      io,
      opts.output,
      CHECKS.map((c) => ({ id: c.id, title: c.title })),
      () => CHECKS.map((c) => `${c.id.padEnd(32)} ${c.title}`).join("\n"),
    );
    return 0;
  }
  checkIds(CHECKS, opts.check);
  const evidence = opts.from ? await readEvidence(opts.from) : await liveEvidence(opts, io);
  const results = runChecks(evidence, CHECKS, opts.check);
  printOutput(io, opts.output, { results, unavailable: evidence.unavailable }, () =>
    formatResults(results, { verbose: opts.verbose }),
  );
  return exitCode(results);
}

/** dump saves the live evidence (secrets redacted) for a bug report or `doctor --from`. */
export async function dump(opts: ClusterChoice & { out: string }, io: Io): Promise<void> {
  await checkOutDir("--out", opts.out);
  const evidence = await liveEvidence(opts, io);
  const path = await writeEvidence(opts.out, evidence);
  const sources = (["nodes", "api", "probes", "virtualbox"] as const).filter((s) => evidence[s] !== undefined);
  note(io, `evidence (${sources.join(", ") || "the file only"}) written to ${path}`);
  for (const [s, why] of Object.entries(evidence.unavailable)) io.err(`not collected: ${s}: ${why}`);
}
