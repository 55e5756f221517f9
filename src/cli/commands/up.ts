import { resolve } from "node:path";
import { bundleSources, onlineSources } from "../../addons/sources.js";
import { bundleSource, readBundle } from "../../artifacts/offline-bundle.js";
import { upstreamSource } from "../../artifacts/package-source.js";
import { cachingStore } from "../../artifacts/store.js";
import { openBundle } from "../../bundle/archive.js";
import type { UpProblem } from "../../cluster/dry-run-checks.js";
import { up as runUp } from "../../cluster/up.js";
import { findClusterFile, STDIN_FILE } from "../../config/load.js";
import { UserError } from "../../errors.js";
import { userKubeconfigPath } from "../../kube/kubeconfig.js";
import { clusterDir, openRunLog } from "../../plan/cluster-dir.js";
import { clusterIndexPath } from "../../plan/cluster-index.js";
import type { Plan } from "../../plan/types.js";
import { providerFor } from "../../providers/index.js";
import type { ClusterChoice } from "../cluster-option.js";
import { askYesNo, stdinIsTerminal } from "../confirm.js";
import { type Io, note } from "../io.js";
import { formatData, isData, type OutputFormat } from "../output.js";
import { lineStatus, listrStatus, teeStatus } from "../progress.js";
import { logFailures } from "../run-log-errors.js";
import { locked } from "./locked.js";
import { loadPlanOrFail } from "./validated.js";

export interface UpCommandOptions extends ClusterChoice {
  bundle?: string;
  dryRun?: boolean;
  concurrency: number;
  acceptNewHostKeys?: boolean;
  forceConflicts?: boolean;
  /** Remove the nodes that left the cluster file without asking. */
  prune?: boolean;
  /** Workers an in-place upgrade drains at once. @default 1 */
  maxUnavailable?: number;
  /** false with --no-kubeconfig. */
  kubeconfig?: boolean;
  verbose?: boolean;
  /** json or yaml: the summary (every change) as data on stdout. */
  output?: OutputFormat;
  /** With --dry-run: exit 0 when nothing would change, 2 when something would, 1 on an error. */
  detailedExitcode?: boolean;
}

/**
 * up creates the machines and prepares every node; with --dry-run it only says what would
 * change, or what would stop up (exit 1). Returns the exit code.
 */
export async function up(opts: UpCommandOptions, io: Io): Promise<number> {
  // As terraform, which has -detailed-exitcode on plan only: on a real up, 2 could not mean "changes".
  if (opts.detailedExitcode && !opts.dryRun)
    throw new UserError("--detailed-exitcode needs --dry-run", {
      hint: "kubelab up --dry-run --detailed-exitcode exits 0 when nothing would change, 2 when something would, 1 on an error",
    });
  const detailed = <T>(fn: () => Promise<T>) => (opts.detailedExitcode ? errorsExitOne(fn) : fn());
  const plan = await detailed(() => loadPlanOrFail(opts.file, io, opts.cwd));
  const dir = clusterDir(plan, opts.file, opts.cwd);
  // A dry run only reads: it neither takes the lock nor is stopped by it.
  if (opts.dryRun) return upIn(plan, dir, opts, io, detailed);
  return locked(plan, dir, "up", io, () => upIn(plan, dir, opts, io, detailed));
}

/** upIn is up once the plan is loaded (and, unless a dry run, the cluster locked). */
async function upIn(
  plan: Plan,
  dir: string,
  opts: UpCommandOptions,
  io: Io,
  detailed: <T>(fn: () => Promise<T>) => Promise<T>,
): Promise<number> {
  const cwd = opts.cwd ?? process.cwd();
  const found = await findClusterFile(opts.file, cwd);
  const log = await openRunLog(dir, opts.dryRun ? "up-dry-run" : "up");
  return logFailures(log, () =>
    detailed(async () => {
      const started = Date.now();
      const bundle = opts.bundle && (await openBundle(opts.bundle));
      const manifest = bundle ? await readBundle(bundle, plan) : undefined;
      const live = io.terminal && !opts.dryRun && !opts.verbose ? listrStatus(io.terminal) : undefined;
      try {
        const result = await runUp(plan, {
          provider: await providerFor(plan),
          packages: bundle && manifest ? bundleSource(bundle, manifest) : upstreamSource(plan, cachingStore()),
          addons: bundle && manifest ? bundleSources(bundle, manifest) : onlineSources(),
          clusterDir: dir,
          // A file piped in cannot be read again later: such a cluster is not listed.
          record:
            found === STDIN_FILE ? undefined : { index: clusterIndexPath(), file: found && resolve(cwd, found), cwd },
          dryRun: opts.dryRun,
          concurrency: opts.concurrency,
          acceptNewHostKeys: opts.acceptNewHostKeys,
          signal: io.signal,
          forceConflicts: opts.forceConflicts,
          prune: opts.prune,
          // Someone at a terminal is asked about nodes that left the file; otherwise only --prune removes them.
          confirmRemoval: !opts.dryRun && stdinIsTerminal() ? askYesNo : undefined,
          upgrade: { maxUnavailable: opts.maxUnavailable },
          kubeconfig: opts.kubeconfig === false ? false : userKubeconfigPath(),
          log: (line) => {
            log.write(line);
            live?.line(line);
            if (opts.verbose || opts.dryRun) io.err(`   ${line}`);
          },
          warn: (line) => {
            log.write(`warning: ${line}`);
            io.err(`warning: ${line}`);
          },
          // On a terminal, live lines (one per node); otherwise plain lines. The run log gets plain lines.
          status: live
            ? teeStatus(live, lineStatus(log.write))
            : lineStatus((line) => {
                log.write(line);
                io.err(line);
              }),
        });
        await live?.close();
        if (result.problems.length > 0) throw dryRunProblems(result.problems);
        const n = result.changes.length;
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        const code = opts.detailedExitcode && n > 0 ? 2 : 0;
        if (isData(opts.output)) {
          io.out(
            formatData(opts.output, {
              cluster: plan.name,
              dryRun: opts.dryRun === true,
              nodes: plan.nodes.length,
              changes: result.changes,
              toRemove: result.toRemove,
              removed: result.removed,
              context: result.context,
              kubeconfig: result.kubeconfigFiles?.[1] ?? result.kubeconfigFiles?.[0],
              notes: result.addons?.notes ?? [],
              seconds: Number(seconds),
              log: log.path,
            }),
          );
          return code;
        }
        note(
          io,
          opts.dryRun
            ? `dry run: ${n} change${n === 1 ? "" : "s"} would be made on ${new Set(result.changes.map((c) => c.node)).size} of ${plan.nodes.length} nodes`
            : `cluster ${plan.name}: ${plan.nodes.length} nodes joined, ${n} change${n === 1 ? "" : "s"} made, in ${seconds} s (log: ${log.path})`,
        );
        if (result.removed.length > 0) note(io, `removed ${result.removed.join(", ")} (no longer in the cluster file)`);
        if (result.context && result.kubeconfigFiles) {
          const [own, merged] = result.kubeconfigFiles;
          note(
            io,
            merged
              ? `kubeconfig: context ${result.context} in ${merged} (current context); try: kubectl get nodes`
              : `kubeconfig: ${own}; try: kubectl --kubeconfig ${own} get nodes`,
          );
        }
        for (const line of result.addons?.notes ?? []) note(io, line);
        return code;
      } finally {
        await live?.close();
        await log.flush();
      }
    }),
  );
}

/** dryRunProblems is the one error of a dry run that found what would stop up: each problem with its fix. */
function dryRunProblems(list: readonly UpProblem[]): UserError {
  const n = list.length;
  return new UserError(`kubelab up would stop: ${n} problem${n === 1 ? "" : "s"} found`, {
    details: list.map((p) => `- ${p.message}\n  fix: ${p.fix}`).join("\n"),
    hint: `fix ${n === 1 ? "it" : "them"}, then run kubelab up --dry-run again`,
    exitCode: 1,
  });
}

/**
 * errorsExitOne makes an error that would exit 2 (a usage or cluster file error) exit 1, as
 * terraform plan -detailed-exitcode does: there 2 means "changes".
 */
async function errorsExitOne<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof UserError) || e.exitCode !== 2) throw e;
    throw new UserError(e.message, { cause: e, hint: e.hint, details: e.details, exitCode: 1 });
  }
}
