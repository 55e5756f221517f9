import {
  type BackupResult,
  backupEtcd,
  type EtcdSnapshotOptions,
  type RestoreOptions,
  type RestoreResult,
  restoreEtcd,
} from "../../cluster/etcd-backup.js";
import type { Plan } from "../../plan/types.js";
import { providerFor } from "../../providers/index.js";
import type { MachineProvider } from "../../providers/types.js";
import type { ClusterChoice } from "../cluster-option.js";
import { confirmOnTerminal } from "../confirm.js";
import { type Io, note } from "../io.js";
import { type OutputFormat, printOutput } from "../output.js";
import { withCluster } from "./locked.js";

export interface EtcdBackupOptions extends ClusterChoice {
  out: string;
  output: OutputFormat;
}

export interface EtcdRestoreOptions extends ClusterChoice {
  force?: boolean;
  output: OutputFormat;
}

/** What the etcd commands reach beyond the cluster file; tests pass their own. */
export interface EtcdDeps {
  readonly providerFor: (plan: Plan) => Promise<MachineProvider>;
  readonly confirm: (question: string) => Promise<boolean>;
  readonly backup: (plan: Plan, out: string, opts: EtcdSnapshotOptions) => Promise<BackupResult>;
  readonly restore: (plan: Plan, file: string, opts: RestoreOptions) => Promise<RestoreResult | undefined>;
}

const realDeps: EtcdDeps = {
  providerFor,
  confirm: (question) => confirmOnTerminal(question, "kubelab etcd restore replaces the cluster's whole state"),
  backup: backupEtcd,
  restore: restoreEtcd,
};

/** etcdBackup saves an etcd snapshot of the cluster to --out (mode 0600). */
export async function etcdBackup(opts: EtcdBackupOptions, io: Io, deps: EtcdDeps = realDeps): Promise<void> {
  const r = await withCluster("etcd backup", opts, io, deps.providerFor, (plan, o) => deps.backup(plan, opts.out, o));
  printOutput(
    io,
    opts.output,
    r,
    () =>
      `cluster ${r.cluster}: etcd snapshot from ${r.node} saved to ${r.file} (${r.bytes} bytes, mode 0600, revision ${r.revision}, ${r.totalKey} keys, checked with ${r.checkedWith})`,
  );
}

/** etcdRestore puts a snapshot back (one control plane), after asking unless --force. */
export async function etcdRestore(
  file: string,
  opts: EtcdRestoreOptions,
  io: Io,
  deps: EtcdDeps = realDeps,
): Promise<void> {
  const r = await withCluster("etcd restore", opts, io, deps.providerFor, (plan, o) =>
    deps.restore(plan, file, { ...o, confirm: opts.force ? async () => true : deps.confirm }),
  );
  if (!r) {
    note(io, "nothing restored");
    return;
  }
  printOutput(
    io,
    opts.output,
    r,
    () =>
      `cluster ${r.cluster}: etcd on ${r.node} restored from ${r.file} (revision ${r.revision}); the data before is kept on ${r.node} in ${r.previousData}`,
  );
}
