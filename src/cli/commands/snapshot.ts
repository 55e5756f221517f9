import {
  deleteSnapshot,
  listSnapshots,
  type RestoreSnapshotResult,
  restoreSnapshot,
  type SaveResult,
  type SnapshotManifest,
  saveSnapshot,
} from "../../cluster/snapshot.js";
import { clusterDir } from "../../plan/cluster-dir.js";
import type { Plan } from "../../plan/types.js";
import { providerFor } from "../../providers/index.js";
import type { MachineProvider } from "../../providers/types.js";
import type { ClusterChoice } from "../cluster-option.js";
import { confirmOnTerminal } from "../confirm.js";
import { type Io, note } from "../io.js";
import { type OutputFormat, printOutput } from "../output.js";
import { withCluster } from "./locked.js";
import { loadPlanOrFail } from "./validated.js";

export interface SnapshotCommandOptions extends ClusterChoice {
  output?: OutputFormat;
  force?: boolean;
}

/** What the snapshot commands reach beyond the cluster file; tests pass their own. */
export interface SnapshotDeps {
  readonly providerFor: (plan: Plan) => Promise<MachineProvider>;
  readonly confirm: (question: string) => Promise<boolean>;
  readonly save: typeof saveSnapshot;
  readonly restore: typeof restoreSnapshot;
  readonly delete: typeof deleteSnapshot;
}

const realDeps: SnapshotDeps = {
  providerFor,
  confirm: (question) =>
    confirmOnTerminal(question, "kubelab snapshot restore replaces every node's disk with the snapshot's"),
  save: saveSnapshot,
  restore: restoreSnapshot,
  delete: deleteSnapshot,
};

/** size formats bytes for people: 1.2 GiB, 340 MiB, 12 KiB. */
export function size(bytes: number | undefined): string {
  if (bytes === undefined) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** snapshotTable is `snapshot list`'s text: one snapshot a line, oldest first. */
export function snapshotTable(snapshots: readonly SnapshotManifest[]): string {
  const w = Math.max(4, ...snapshots.map((s) => s.name.length));
  return [
    `${"NAME".padEnd(w)}  ${"CREATED".padEnd(24)}  ${"PROVIDER".padEnd(8)}  NODES  DISK`,
    ...snapshots.map(
      (s) =>
        `${s.name.padEnd(w)}  ${s.created.padEnd(24)}  ${s.provider.padEnd(8)}  ${String(s.nodes.length).padEnd(5)}  ${size(s.sizes.disks)}`,
    ),
  ].join("\n");
}

/** snapshotSave takes snapshot NAME of the whole lab (stopping and starting it again when it runs). */
export async function snapshotSave(
  name: string,
  opts: SnapshotCommandOptions,
  io: Io,
  deps: SnapshotDeps = realDeps,
): Promise<void> {
  const r: SaveResult = await withCluster("snapshot save", opts, io, deps.providerFor, (plan, o) =>
    deps.save(plan, name, { ...o, force: opts.force }),
  );
  printOutput(io, opts.output ?? "text", r, () => {
    const disks = r.sizes.disks === undefined ? "" : `, ${size(r.sizes.disks)} of new disk use`;
    const after = r.started ? "; the lab is running again" : "; the lab stays stopped";
    return `cluster ${r.cluster}: snapshot ${r.name} of ${r.nodes.map((n) => n.name).join(", ")} taken in ${r.seconds} s${disks}${after} (kubelab snapshot restore ${r.name} goes back to it)`;
  });
}

/** snapshotRestore returns the lab to snapshot NAME, after saying what is lost and asking (unless --force). */
export async function snapshotRestore(
  name: string,
  opts: SnapshotCommandOptions,
  io: Io,
  deps: SnapshotDeps = realDeps,
): Promise<void> {
  const r: RestoreSnapshotResult | undefined = await withCluster(
    "snapshot restore",
    opts,
    io,
    deps.providerFor,
    (plan, o) =>
      deps.restore(plan, name, {
        ...o,
        confirm: opts.force ? async () => true : deps.confirm,
        print: (text) => io.err(text),
      }),
  );
  if (!r) {
    note(io, "nothing restored");
    return;
  }
  printOutput(
    io,
    opts.output ?? "text",
    { ...r, ready: true },
    () =>
      `cluster ${r.cluster}: back at snapshot ${r.name} (${r.created}) in ${r.seconds} s, every node Ready and every workload ready`,
  );
}

/** snapshotList prints the cluster's snapshots, oldest first. */
export async function snapshotList(opts: SnapshotCommandOptions, io: Io): Promise<void> {
  const plan = await loadPlanOrFail(opts.file, io, opts.cwd);
  const snapshots = await listSnapshots(clusterDir(plan, opts.file, opts.cwd));
  const format = opts.output ?? "text";
  if (format === "text" && snapshots.length === 0) {
    note(io, `cluster ${plan.name} has no snapshots: kubelab snapshot save NAME takes one`);
    return;
  }
  printOutput(io, format, { cluster: plan.name, snapshots }, () => snapshotTable(snapshots), "cut");
}

/** snapshotDelete removes snapshot NAME: the nodes' copies and kubelab's files. */
export async function snapshotDelete(
  name: string,
  opts: SnapshotCommandOptions,
  io: Io,
  deps: SnapshotDeps = realDeps,
): Promise<void> {
  const m = await withCluster("snapshot delete", opts, io, deps.providerFor, (plan, o) => deps.delete(plan, name, o));
  io.out(`cluster ${m.cluster}: snapshot ${m.name} (${m.created}) deleted`);
}
