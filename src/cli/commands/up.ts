import { resolve } from "node:path";
import { bundleSources, onlineSources } from "../../addons/sources.js";
import { bundleSource, readBundle } from "../../artifacts/offline-bundle.js";
import { upstreamSource } from "../../artifacts/package-source.js";
import { cachingStore } from "../../artifacts/store.js";
import { openBundle } from "../../bundle/archive.js";
import { up as runUp } from "../../cluster/up.js";
import { findClusterFile } from "../../config/load.js";
import { userKubeconfigPath } from "../../kube/kubeconfig.js";
import { clusterDir, openRunLog } from "../../plan/cluster-dir.js";
import { clusterIndexPath } from "../../plan/cluster-index.js";
import { providerFor } from "../../providers/index.js";
import type { ClusterChoice } from "../cluster-option.js";
import type { Io } from "../io.js";
import { lineStatus, listrStatus, teeStatus } from "../progress.js";
import { logFailures } from "../run-log-errors.js";
import { loadPlanOrFail } from "./validated.js";

export interface UpCommandOptions extends ClusterChoice {
  bundle?: string;
  dryRun?: boolean;
  concurrency: number;
  acceptNewHostKeys?: boolean;
  forceConflicts?: boolean;
  /** false with --no-kubeconfig. */
  kubeconfig?: boolean;
  verbose?: boolean;
}

/** up creates the machines and prepares every node; with --dry-run it only says what would change. */
export async function up(opts: UpCommandOptions, io: Io): Promise<void> {
  const plan = await loadPlanOrFail(opts.file, io, opts.cwd);
  const dir = clusterDir(plan, opts.file, opts.cwd);
  const cwd = opts.cwd ?? process.cwd();
  const found = await findClusterFile(opts.file, cwd);
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
        record: { index: clusterIndexPath(), file: found && resolve(cwd, found), cwd },
        dryRun: opts.dryRun,
        concurrency: opts.concurrency,
        acceptNewHostKeys: opts.acceptNewHostKeys,
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
      io.out(
        opts.dryRun
          ? `dry run: ${n} change${n === 1 ? "" : "s"} would be made on ${new Set(result.changes.map((c) => c.node)).size} of ${plan.nodes.length} nodes`
          : `cluster ${plan.name}: ${plan.nodes.length} nodes joined, ${n} change${n === 1 ? "" : "s"} made, in ${seconds} s (log: ${log.path})`,
      );
      if (result.context && result.kubeconfigFiles) {
        const [own, merged] = result.kubeconfigFiles;
        io.out(
          merged
            ? `kubeconfig: context ${result.context} in ${merged} (current context); try: kubectl get nodes`
            : `kubeconfig: ${own}; try: kubectl --kubeconfig ${own} get nodes`,
        );
      }
      for (const note of result.addons?.notes ?? []) io.out(note);
    } finally {
      await live?.close();
      await log.flush();
    }
  });
}
