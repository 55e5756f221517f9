import { bundleSources, onlineSources } from "../../addons/sources.js";
import { bundleSource, readBundle } from "../../artifacts/offline-bundle.js";
import { upstreamSource } from "../../artifacts/package-source.js";
import { cachingStore } from "../../artifacts/store.js";
import { openBundle } from "../../bundle/archive.js";
import { up as runUp } from "../../cluster/up.js";
import { userKubeconfigPath } from "../../kube/kubeconfig.js";
import { clusterDir, openRunLog } from "../../plan/cluster-dir.js";
import type { Plan } from "../../plan/types.js";
import { providerFor } from "../../providers/index.js";
import { type Io, note } from "../io.js";
import { formatData, isData, type OutputFormat } from "../output.js";
import { lineStatus, listrStatus, teeStatus } from "../progress.js";
import { logFailures } from "../run-log-errors.js";
import { locked } from "./locked.js";
import { loadPlanOrFail } from "./validated.js";

export interface UpCommandOptions {
  file?: string;
  bundle?: string;
  dryRun?: boolean;
  concurrency: number;
  acceptNewHostKeys?: boolean;
  forceConflicts?: boolean;
  /** false with --no-kubeconfig. */
  kubeconfig?: boolean;
  verbose?: boolean;
  /** json or yaml: the summary (every change) as data on stdout. */
  output?: OutputFormat;
}

/** up creates the machines and prepares every node; with --dry-run it only says what would change. */
export async function up(opts: UpCommandOptions, io: Io): Promise<void> {
  const plan = await loadPlanOrFail(opts.file, io);
  const dir = clusterDir(plan, opts.file);
  // A dry run only reads: it neither takes the lock nor is stopped by it.
  if (opts.dryRun) return upIn(plan, dir, opts, io);
  return locked(plan, dir, "up", io, () => upIn(plan, dir, opts, io));
}

/** upIn is up once the plan is loaded (and, unless a dry run, the cluster locked). */
async function upIn(plan: Plan, dir: string, opts: UpCommandOptions, io: Io): Promise<void> {
  const log = await openRunLog(dir, opts.dryRun ? "up-dry-run" : "up");
  return logFailures(log, async () => {
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
        dryRun: opts.dryRun,
        concurrency: opts.concurrency,
        acceptNewHostKeys: opts.acceptNewHostKeys,
        signal: io.signal,
        forceConflicts: opts.forceConflicts,
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
      const n = result.changes.length;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (isData(opts.output)) {
        io.out(
          formatData(opts.output, {
            cluster: plan.name,
            dryRun: opts.dryRun === true,
            nodes: plan.nodes.length,
            changes: result.changes,
            context: result.context,
            kubeconfig: result.kubeconfigFiles?.[1] ?? result.kubeconfigFiles?.[0],
            notes: result.addons?.notes ?? [],
            seconds: Number(seconds),
            log: log.path,
          }),
        );
        return;
      }
      note(
        io,
        opts.dryRun
          ? `dry run: ${n} change${n === 1 ? "" : "s"} would be made on ${new Set(result.changes.map((c) => c.node)).size} of ${plan.nodes.length} nodes`
          : `cluster ${plan.name}: ${plan.nodes.length} nodes joined, ${n} change${n === 1 ? "" : "s"} made, in ${seconds} s (log: ${log.path})`,
      );
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
    } finally {
      await live?.close();
      await log.flush();
    }
  });
}
