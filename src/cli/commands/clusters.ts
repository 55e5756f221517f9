import { stat } from "node:fs/promises";
import { type ClusterEntry, clusterIndexPath, readClusterIndex } from "../../plan/cluster-index.js";
import type { Plan } from "../../plan/types.js";
import { providerFor } from "../../providers/index.js";
import type { MachineProvider } from "../../providers/types.js";
import type { Io } from "../io.js";
import { formatData, isData, type OutputFormat } from "../output.js";
import { loadRecorded } from "../recorded-cluster.js";

/** What the machines of a recorded cluster are now. */
export type ClusterState = "running" | "stopped" | "unreachable" | "gone" | "unknown";

/** One line of `kubelab get clusters`: the recorded entry and what its machines are now. */
export interface ClusterRow {
  readonly name: string;
  /** The cluster file, or null for the built-in lab (made in `cwd`). */
  readonly file: string | null;
  readonly cwd: string;
  readonly clusterDir: string;
  readonly provider: string;
  readonly created: string;
  readonly state: ClusterState;
  /** Machines running, of `nodes` (0 of 0 when the file cannot be read). */
  readonly running: number;
  readonly nodes: number;
  /** Why the state is gone or unknown. */
  readonly reason?: string;
}

/** What `get clusters` reaches outside the index; tests pass their own. */
export interface ClustersDeps {
  readonly index: () => string;
  readonly providerFor: (plan: Plan) => Promise<MachineProvider>;
}

const realDeps: ClustersDeps = { index: () => clusterIndexPath(), providerFor };

/** getClusters lists every cluster made on this machine with the state of its machines. */
export async function getClusters(
  opts: { output: OutputFormat },
  io: Io,
  deps: ClustersDeps = realDeps,
): Promise<void> {
  const entries = await readClusterIndex(deps.index());
  const rows = await Promise.all(entries.map((e) => clusterRow(e, deps)));
  if (isData(opts.output)) return io.out(formatData(opts.output, rows));
  if (rows.length === 0) return io.err("no clusters made on this machine yet (kubelab up makes one)");
  io.out(
    table([
      ["NAME", "STATE", "PROVIDER", "CREATED", "FILE", "CLUSTER DIRECTORY"],
      ...rows.map((r) => [
        r.name,
        r.state === "running" ? `running ${r.running}/${r.nodes}` : r.state,
        r.provider,
        r.created.replace("T", " ").slice(0, 16),
        r.file ?? `built-in (in ${r.cwd})`,
        `${r.clusterDir}${r.reason ? `  (${r.reason})` : ""}`,
      ]),
    ]),
  );
}

/** clusterRow asks the provider for the entry's machines; a file or provider that fails is a state, never an error. */
async function clusterRow(entry: ClusterEntry, deps: ClustersDeps): Promise<ClusterRow> {
  const row = {
    name: entry.name,
    file: entry.file ?? null,
    cwd: entry.cwd,
    clusterDir: entry.clusterDir,
    provider: entry.provider,
    created: entry.created,
  };
  const loaded = await loadRecorded(entry);
  if (!loaded.ok)
    return { ...row, state: loaded.gone ? "gone" : "unknown", running: 0, nodes: 0, reason: loaded.problem };
  const nodes = loaded.plan.nodes.length;
  try {
    const machines = await (await deps.providerFor(loaded.plan)).list(loaded.plan, {
      clusterDir: entry.clusterDir,
      log: () => {},
    });
    const running = machines.filter((m) => m.state === "running").length;
    if (running > 0) return { ...row, state: "running", running, nodes };
    // Existing hosts (ssh provider) are never stopped by kubelab: they do not answer.
    if (machines.some((m) => m.state === "unreachable")) return { ...row, state: "unreachable", running, nodes };
    if (machines.some((m) => m.state === "stopped")) return { ...row, state: "stopped", running, nodes };
    const dirGone = !(await stat(entry.clusterDir).catch(() => undefined));
    const reason = `no machines${dirGone ? ", and the cluster directory is gone" : ""}`;
    return { ...row, state: "gone", running, nodes, reason };
  } catch (e) {
    return { ...row, state: "unknown", running: 0, nodes, reason: e instanceof Error ? e.message : String(e) };
  }
}

/** table pads every column but the last to its widest cell. */
function table(rows: readonly string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
  return rows
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  "))
    .join("\n");
}
