/**
 * `kubelab etcd backup` and `kubelab etcd restore`: an etcd snapshot taken on the first
 * control plane and copied to this host (mode 0600: it holds every Secret), and the kubeadm
 * procedure that puts one back on a cluster with one control plane.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { UserError } from "../errors.js";
import { kubeConfig, waitApiReady, waitNodes } from "../kube/client.js";
import { writePrivateFile } from "../kube/kubeconfig.js";
import {
  ETCD_DATA_DIR,
  ETCD_MANIFESTS,
  type SnapshotStatus,
  snapshotRestore,
  snapshotSave,
  snapshotStatus,
} from "../phases/etcd-snapshot.js";
import { firstControlPlane } from "../plan/control-plane.js";
import type { Plan, PlanNode } from "../plan/types.js";
import type { MachineProvider } from "../providers/types.js";
import { closeOnAbort } from "../remote/close-on-abort.js";
import { connectAll, hostKeyPolicy } from "../remote/connect-all.js";
import type { Remote } from "../remote/types.js";
import { kubeconfigFrom } from "./kubeconfig.js";

/** Where the static pod manifests are, and where restore parks them while etcd is swapped. */
export const [MANIFESTS, PARKED_MANIFESTS] = ETCD_MANIFESTS;

/** Options of {@link backupEtcd} and {@link restoreEtcd}. */
export interface EtcdSnapshotOptions {
  readonly provider: MachineProvider;
  readonly clusterDir: string;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
  /** Connects to the control plane; tests pass a fake node. @default SSH to the machine the provider lists */
  readonly connect?: (plan: Plan, node: PlanNode) => Promise<Remote>;
  /** How long restore waits for the static pods to stop and the API to come back. @default 300000 */
  readonly timeoutMs?: number;
  /** Pause between polls while restore waits for the static pods to stop. @default 1000 */
  readonly pollMs?: number;
}

/** What backup wrote. */
export interface BackupResult extends SnapshotStatus {
  readonly cluster: string;
  readonly node: string;
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** What restore did. */
export interface RestoreResult extends SnapshotStatus {
  readonly cluster: string;
  readonly node: string;
  readonly file: string;
  /** Where the node's etcd data before the restore was kept. */
  readonly previousData: string;
}

async function connectTo(plan: Plan, node: PlanNode, opts: EtcdSnapshotOptions): Promise<Remote> {
  if (opts.connect) return opts.connect(plan, node);
  const ctx = { clusterDir: opts.clusterDir, log: opts.log, signal: opts.signal };
  const machines = await opts.provider.list(plan, ctx);
  const machine = machines.find((m) => m.node === node.name);
  if (machine?.state !== "running")
    throw new UserError(`${node.name} is ${machine?.state ?? "absent"}: etcd is reached on it`, {
      hint: machine?.state === "stopped" ? "kubelab start" : "kubelab up",
    });
  const hosts = await connectAll({ ...plan, nodes: [node] }, machines, {
    clusterDir: opts.clusterDir,
    policy: hostKeyPolicy(),
    concurrency: 1,
    signal: opts.signal,
  });
  return hosts.get(node.name) as Remote;
}

/** withControlPlane runs `fn` on the first control plane's connection, closed however it ends. */
async function withControlPlane<T>(
  plan: Plan,
  opts: EtcdSnapshotOptions,
  fn: (remote: Remote, node: PlanNode) => Promise<T>,
): Promise<T> {
  const node = firstControlPlane(plan);
  const remote = await connectTo(plan, node, opts);
  const unwatch = closeOnAbort(new Map([[node.name, remote]]), opts.signal);
  try {
    return await fn(remote, node);
  } catch (e) {
    throw opts.signal?.aborted ? opts.signal.reason : e;
  } finally {
    unwatch();
    await remote.close().catch(() => {});
  }
}

const token = () =>
  `${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "")}-${randomBytes(3).toString("hex")}`;

/** downloadFile reads a file of any content from the node (base64 over the command's output) and checks its sha256 there. */
export async function downloadFile(remote: Remote, path: string): Promise<Buffer> {
  const data = Buffer.from((await remote.run(["base64", "-w", "0", path], { timeoutMs: 600_000 })).trim(), "base64");
  const theirs = (await remote.run(["sha256sum", path])).trim().split(/\s+/)[0];
  const ours = createHash("sha256").update(data).digest("hex");
  if (theirs !== ours)
    throw new Error(`${remote.node}: ${path} arrived damaged (sha256 ${ours}, on the node ${theirs})`);
  return data;
}

/** checkOut refuses an --out that cannot be written before anything is done on the node. */
async function checkOut(out: string): Promise<void> {
  const st = await stat(out).catch(() => undefined);
  if (st?.isDirectory())
    throw new UserError(`${out} is a directory`, { hint: "give --out a file name, e.g. --out etcd-backup.db" });
  const dir = await stat(dirname(out)).catch(() => undefined);
  if (!dir?.isDirectory())
    throw new UserError(`${dirname(out)} does not exist`, { hint: "create the directory first, or write elsewhere" });
}

/**
 * backupEtcd takes a snapshot on the first control plane into a temporary file under
 * /var/lib/etcd, checks it with etcdutl, copies it to `out` (mode 0600, replacing a file that
 * was there) and removes the node's copy.
 */
export async function backupEtcd(plan: Plan, out: string, opts: EtcdSnapshotOptions): Promise<BackupResult> {
  await checkOut(out);
  return withControlPlane(plan, opts, async (remote, node) => {
    const tmp = `${ETCD_DATA_DIR}/kubelab-snapshot-${token()}.db`;
    try {
      opts.log(`${node.name}: etcdctl snapshot save ${tmp}`);
      await snapshotSave(remote, tmp);
      const status = await snapshotStatus(remote, tmp);
      opts.log(
        `${node.name}: ${status.checkedWith} snapshot status: revision ${status.revision}, ${status.totalKey} keys`,
      );
      const data = await downloadFile(remote, tmp);
      await writePrivateFile(out, data);
      const sha256 = createHash("sha256").update(data).digest("hex");
      return { cluster: plan.name, node: node.name, file: out, bytes: data.length, sha256, ...status };
    } finally {
      await remote.exec(["rm", "-f", tmp]).catch(() => {});
    }
  });
}

/** Options of {@link restoreEtcd}: those of backup, and the question asked first. */
export interface RestoreOptions extends EtcdSnapshotOptions {
  /** Asked before anything changes; false stops the restore. */
  readonly confirm: (question: string) => Promise<boolean>;
}

/** refuseSeveralControlPlanes: kubelab restores one member; several need every member restored together. */
function refuseSeveralControlPlanes(plan: Plan): void {
  const cps = plan.nodes.filter((n) => n.role === "control-plane");
  if (cps.length <= 1) return;
  throw new UserError(
    `kubelab etcd restore restores a cluster with one control plane; ${plan.name} has ${cps.length} (${cps.map((n) => n.name).join(", ")})`,
    {
      hint: "with several control planes every member must be restored from the same snapshot at once: follow the multi-member steps in README (etcd restore), or make the lab again from the file",
    },
  );
}

/** readSnapshot reads the local snapshot file or says why it cannot. */
async function readSnapshot(file: string): Promise<Buffer> {
  const data = await readFile(file).catch((e: NodeJS.ErrnoException) => {
    throw new UserError(`cannot read ${file} (${e.code ?? e.message})`, {
      hint: "give the file kubelab etcd backup --out wrote",
    });
  });
  if (data.length === 0)
    throw new UserError(`${file} is empty`, { hint: "give the file kubelab etcd backup --out wrote" });
  return data;
}

/** waitNoContainers waits until none of the static pods' containers runs any more. */
async function waitStaticPodsGone(remote: Remote, opts: EtcdSnapshotOptions): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
  for (;;) {
    opts.signal?.throwIfAborted();
    const ids = await remote.run([
      "crictl",
      "ps",
      "--name",
      "^(etcd|kube-apiserver|kube-controller-manager|kube-scheduler)$",
      "--state",
      "running",
      "-q",
    ]);
    if (ids.trim() === "") return;
    if (Date.now() > deadline)
      throw new Error(
        `${remote.node}: the static pods still run ${Math.round((opts.timeoutMs ?? 300_000) / 1000)} s after their manifests were moved away`,
      );
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
  }
}

const sh = (script: string, ...args: string[]) => ["sh", "-c", script, "kubelab-restore", ...args];

/** Moves every manifest from $1 to $2 (creating $2). */
const MOVE_MANIFESTS = 'mkdir -p "$2" && for f in "$1"/*.yaml; do [ -e "$f" ] || continue; mv "$f" "$2"/; done';

/**
 * restoreEtcd puts a snapshot back on a cluster with one control plane, as kubeadm's
 * documentation describes it: the snapshot is copied to the node and checked, restored by
 * etcdutl into a fresh data directory (the running etcd untouched), the static pods stopped
 * by moving their manifests away, the data directory swapped (the old one kept beside it),
 * the manifests put back (also when a step fails), and the API and every node awaited.
 */
export async function restoreEtcd(plan: Plan, file: string, opts: RestoreOptions): Promise<RestoreResult | undefined> {
  refuseSeveralControlPlanes(plan);
  const data = await readSnapshot(file);
  const cp = firstControlPlane(plan);
  if (
    !(await opts.confirm(
      `Replace the whole state of cluster ${plan.name} (every object in etcd on ${cp.name}) with ${file}?`,
    ))
  )
    return undefined;
  return withControlPlane(plan, opts, async (remote, node) => {
    const t = token();
    const snapshot = `${ETCD_DATA_DIR}/kubelab-restore-${t}.db`;
    const fresh = `${ETCD_DATA_DIR}/kubelab-restore-${t}`;
    const previous = `${ETCD_DATA_DIR}.before-restore-${t}`;
    let parked = false;
    // Once the swap has begun, the restored data may be all there is: it is never removed.
    let swapping = false;
    try {
      opts.log(`${node.name}: copying ${file} to ${snapshot}`);
      await remote.writeFile(snapshot, data, 0o600);
      const status = await snapshotStatus(remote, snapshot);
      opts.log(`${node.name}: ${status.checkedWith} snapshot restore into ${fresh} (revision ${status.revision})`);
      await snapshotRestore(remote, snapshot, fresh, node, status.checkedWith);
      opts.log(`${node.name}: stopping the static pods (manifests moved to ${PARKED_MANIFESTS})`);
      await remote.run(sh(MOVE_MANIFESTS, MANIFESTS, PARKED_MANIFESTS));
      parked = true;
      await waitStaticPodsGone(remote, opts);
      opts.log(`${node.name}: swapping ${ETCD_DATA_DIR}/member (the old one kept in ${previous})`);
      swapping = true;
      await remote.run(
        sh(
          'set -e; mkdir -p "$3"; if [ -e "$1/member" ]; then mv "$1/member" "$3/member"; fi; mv "$2/member" "$1/member"; rmdir "$2"',
          ETCD_DATA_DIR,
          fresh,
          previous,
        ),
      );
      opts.log(`${node.name}: starting the static pods again`);
      await remote.run(sh(`${MOVE_MANIFESTS} && rmdir "$1"`, PARKED_MANIFESTS, MANIFESTS));
      parked = false;
      const kc = kubeConfig(await kubeconfigFrom(plan, remote));
      const wait = { timeoutMs: opts.timeoutMs ?? 300_000, signal: opts.signal };
      opts.log("waiting for the API server and every node");
      await waitApiReady(kc, wait);
      await waitNodes(
        kc,
        plan.nodes.map((n) => n.name),
        { ...wait, ready: true },
      );
      return { cluster: plan.name, node: node.name, file, previousData: previous, ...status };
    } finally {
      // A failed step must not leave the control plane without its static pods.
      if (parked) await remote.exec(sh(`${MOVE_MANIFESTS} && rmdir "$1"`, PARKED_MANIFESTS, MANIFESTS)).catch(() => {});
      await remote.exec(["rm", "-rf", snapshot, ...(swapping ? [] : [fresh])]).catch(() => {});
    }
  });
}
