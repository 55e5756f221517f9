import { upstreamSource } from "../../artifacts/package-source.js";
import { cachingStore } from "../../artifacts/store.js";
import { clusterStatus } from "../../cluster/node-status.js";
import { clusterDir } from "../../plan/cluster-dir.js";
import { providerFor } from "../../providers/index.js";
import type { ClusterChoice } from "../cluster-option.js";
import type { Io } from "../io.js";
import { type OutputFormat, printOutput } from "../output.js";
import { loadPlanOrFail } from "./validated.js";

export interface StatusOptions extends ClusterChoice {
  output: OutputFormat;
}

/** status shows each node's machine, address and whether it is prepared. */
export async function status(opts: StatusOptions, io: Io): Promise<void> {
  const plan = await loadPlanOrFail(opts.file, io, opts.cwd);
  const nodes = await clusterStatus(plan, {
    provider: await providerFor(plan),
    packages: upstreamSource(plan, cachingStore()),
    clusterDir: clusterDir(plan, opts.file, opts.cwd),
  });
  const w = Math.max(4, ...nodes.map((n) => n.node.length));
  // A table: a row too wide for the terminal is cut rather than wrapped into the next row.
  printOutput(
    io,
    opts.output,
    { cluster: plan.name, nodes },
    () =>
      [
        `${"NODE".padEnd(w)}  MACHINE      IP               PREPARED`,
        ...nodes.map(
          (n) =>
            `${n.node.padEnd(w)}  ${n.machine.padEnd(11)}  ${n.ip.padEnd(15)}  ${n.prepared === undefined ? "-" : n.prepared ? "yes" : `no (${n.pending} changes pending)`}${n.reason ? `  (${n.reason})` : ""}`,
        ),
      ].join("\n"),
    "cut",
  );
}
