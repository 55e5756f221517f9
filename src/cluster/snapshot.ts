/**
 * `kubelab snapshot save|restore|list|delete`: the whole lab at one point in time. A snapshot
 * is every node's disk, taken by the provider while the lab is stopped (the lab is stopped
 * with `stop`'s code and started again when it was running), an etcd snapshot taken just
 * before stopping (the etcd backup code), and kubelab's own files for the cluster (kubeconfig,
 * known_hosts, the SSH key, the applied nodes). kubelab's part lives in the cluster directory:
 *
 *   .kubelab/<cluster>/snapshots/<name>/
 *     snapshot.json   the manifest: name, created, provider, nodes, sizes
 *     etcd.db         the etcd snapshot (mode 0600)
 *     files/          kubelab's files, as they were
 *
 * the disks where the provider keeps them (nspawn: beside the machines; vagrant: each VM's own
 * snapshot). Restoring stops the lab, puts every disk and kubelab's files back, and starts it
 * with `start`'s code, waiting until every node and workload is Ready.
 */
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { UserError } from "../errors.js";
import { clusterPaths } from "../plan/cluster-dir.js";
import { firstControlPlane } from "../plan/control-plane.js";
import type { Plan } from "../plan/types.js";
import type { MachineProvider, MachineSnapshots, ProviderContext } from "../providers/types.js";
import { backupEtcd, type EtcdSnapshotOptions } from "./etcd-backup.js";
import { type LifecycleOptions, type StartOptions, startCluster, stopCluster } from "./stop-start.js";

/** The manifest's file name in a snapshot's directory. */
export const MANIFEST = "snapshot.json";

/** One node in a snapshot. */
export interface SnapshotNode {
  readonly name: string;
  readonly role: string;
  readonly ip: string;
  /** Where the provider keeps the node's disk. */
  readonly location: string;
  /** The node's copy on this host's disk, shared files included (nspawn). */
  readonly bytes?: number;
  /** What the copy takes beyond the snapshots before it (nspawn). */
  readonly addedBytes?: number;
}

/** snapshot.json: what a snapshot holds. */
export interface SnapshotManifest {
  readonly name: string;
  readonly cluster: string;
  /** When the disks were taken (ISO 8601): the point the lab goes back to. */
  readonly created: string;
  readonly provider: Plan["provider"]["name"];
  readonly nodes: readonly SnapshotNode[];
  /** The etcd snapshot taken just before the lab stopped; absent when the lab was already stopped. */
  readonly etcd?: { readonly file: string; readonly node: string; readonly bytes: number; readonly revision: number };
  /** kubelab's files of the cluster kept in files/. */
  readonly files: readonly string[];
  /** Whether the lab was running when the snapshot was taken (and was started again after it). */
  readonly wasRunning: boolean;
  /** Bytes: kubelab's files and the etcd snapshot; the nodes' disks (beyond earlier snapshots) when known. */
  readonly sizes: { readonly files: number; readonly disks?: number };
}

/** The steps a snapshot is made of; tests pass their own. */
export interface SnapshotSteps {
  readonly backupEtcd: (
    plan: Plan,
    out: string,
    opts: EtcdSnapshotOptions,
  ) => Promise<{ bytes: number; revision: number; node: string }>;
  readonly stop: (plan: Plan, opts: LifecycleOptions) => Promise<unknown>;
  readonly start: (plan: Plan, opts: StartOptions) => Promise<unknown>;
}

const realSteps: SnapshotSteps = { backupEtcd, stop: stopCluster, start: startCluster };

/** Options of the snapshot functions. */
export interface SnapshotOptions {
  readonly provider: MachineProvider;
  readonly clusterDir: string;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
  /** How long start may wait for each of the API, the nodes and the workloads. @default 300000 */
  readonly timeoutMs?: number;
  readonly steps?: SnapshotSteps;
  /** The clock (tests). @default () => new Date() */
  readonly now?: () => Date;
}

/** The directory of the cluster's snapshots (kubelab's part). */
export const snapshotsDir = (clusterDir: string) => join(clusterDir, "snapshots");
const snapshotDir = (clusterDir: string, name: string) => join(snapshotsDir(clusterDir), name);

/** Snapshot names: a DNS label, so they are safe as directory and VM snapshot names. */
const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** checkSnapshotName refuses a name that is not a DNS label (lower case letters, digits, `-`, at most 63). */
export function checkSnapshotName(name: string): void {
  if (NAME.test(name)) return;
  throw new UserError(`invalid snapshot name ${JSON.stringify(name)}`, {
    hint: "use lower case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters (e.g. before-upgrade)",
  });
}

/** providerSnapshots is the provider's snapshot support, or the UserError of a provider that has none. */
function providerSnapshots(plan: Plan, provider: MachineProvider): MachineSnapshots {
  if (provider.snapshot) return provider.snapshot;
  throw new UserError(
    `cluster ${plan.name} runs on existing hosts (provider ${plan.provider.name}): kubelab cannot snapshot machines it did not make`,
    {
      hint: "snapshot the hosts with their own tools (their hypervisor, LVM, a file system snapshot); kubelab etcd backup saves the cluster's state",
    },
  );
}

/** readManifest reads a snapshot's manifest, or undefined when there is no such snapshot. */
async function readManifest(clusterDir: string, name: string): Promise<SnapshotManifest | undefined> {
  const text = await readFile(join(snapshotDir(clusterDir, name), MANIFEST), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as SnapshotManifest;
  } catch (e) {
    throw new UserError(`${join(snapshotDir(clusterDir, name), MANIFEST)} is damaged (${(e as Error).message})`, {
      hint: `kubelab snapshot delete ${name} removes the snapshot`,
    });
  }
}

/** listSnapshots reads every snapshot's manifest, oldest first. */
export async function listSnapshots(clusterDir: string): Promise<SnapshotManifest[]> {
  const entries = await readdir(snapshotsDir(clusterDir), { withFileTypes: true }).catch(() => []);
  const found: SnapshotManifest[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || !NAME.test(e.name)) continue;
    const m = await readManifest(clusterDir, e.name).catch(() => undefined);
    if (m) found.push(m);
  }
  return found.sort((a, b) => a.created.localeCompare(b.created) || a.name.localeCompare(b.name));
}

/** existing reads snapshot `name` or throws the UserError that lists the snapshots there are. */
async function existing(plan: Plan, clusterDir: string, name: string): Promise<SnapshotManifest> {
  checkSnapshotName(name);
  const m = await readManifest(clusterDir, name);
  if (m) return m;
  const names = (await listSnapshots(clusterDir)).map((s) => s.name);
  throw new UserError(
    `cluster ${plan.name} has no snapshot named ${name}${names.length > 0 ? `; it has ${names.join(", ")}` : "; it has none"}`,
    { hint: names.length > 0 ? "kubelab snapshot list shows them" : `kubelab snapshot save ${name} takes one` },
  );
}

/** kubelab's files of a cluster that a snapshot keeps: the kubeconfig, known_hosts, the key pair, the applied nodes. */
function keptFiles(clusterDir: string): string[] {
  const p = clusterPaths(clusterDir);
  return [p.kubeconfig, p.knownHosts, p.key, `${p.key}.pub`, p.appliedNodes];
}

/** copyKeepingMode copies a file and gives the copy the original's mode. */
async function copyKeepingMode(from: string, to: string): Promise<number> {
  const st = await stat(from);
  await copyFile(from, to);
  await chmod(to, st.mode & 0o777);
  return st.size;
}

const seconds = (since: number) => Math.round((Date.now() - since) / 100) / 10;

/** What save reports. */
export interface SaveResult extends SnapshotManifest {
  readonly seconds: number;
  readonly started: boolean;
}

/** ctxOf is the provider context of the options. */
const ctxOf = (opts: SnapshotOptions): ProviderContext => ({
  clusterDir: opts.clusterDir,
  log: opts.log,
  signal: opts.signal,
});

/**
 * saveSnapshot takes snapshot `name` of the whole lab: the etcd snapshot (lab running), the lab
 * stopped, every node's disk copied by the provider, kubelab's files copied, the manifest
 * written, and the lab started again (waiting until it is Ready) when it was running. A
 * snapshot of that name is refused unless `force`, and replaced only once the new one is whole.
 */
export async function saveSnapshot(
  plan: Plan,
  name: string,
  opts: SnapshotOptions & { readonly force?: boolean },
): Promise<SaveResult> {
  checkSnapshotName(name);
  const snapshots = providerSnapshots(plan, opts.provider);
  if (!opts.force && (await readManifest(opts.clusterDir, name)))
    throw new UserError(`cluster ${plan.name} already has a snapshot named ${name}`, {
      hint: `pass --force to replace it, or choose another name (kubelab snapshot list shows the ones there are)`,
    });
  const steps = opts.steps ?? realSteps;
  const ctx = ctxOf(opts);
  const machines = await opts.provider.list(plan, ctx);
  const state = (n: string) => machines.find((m) => m.node === n)?.state ?? "absent";
  const absent = plan.nodes.filter((n) => state(n.name) === "absent").map((n) => n.name);
  if (absent.length > 0)
    throw new UserError(`${absent.join(", ")} of cluster ${plan.name} has no machine to snapshot`, {
      hint: "kubelab up makes the missing machines",
    });
  const wasRunning = plan.nodes.some((n) => state(n.name) === "running");
  const started = Date.now();
  const dir = snapshotDir(opts.clusterDir, name);
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(join(tmp, "files"), { recursive: true, mode: 0o700 });
  await chmod(snapshotsDir(opts.clusterDir), 0o700);
  const lifecycle = { provider: opts.provider, clusterDir: opts.clusterDir, log: opts.log, signal: opts.signal };
  try {
    let etcd: SnapshotManifest["etcd"];
    if (wasRunning && state(firstControlPlane(plan).name) === "running") {
      opts.log("etcd snapshot (before the lab stops)");
      const r = await steps.backupEtcd(plan, join(tmp, "etcd.db"), lifecycle);
      etcd = { file: "etcd.db", node: r.node, bytes: r.bytes, revision: r.revision };
    } else opts.log("the lab is stopped: no etcd snapshot (the nodes' disks hold etcd's data)");
    let manifest: SnapshotManifest;
    try {
      if (wasRunning) {
        opts.log("stopping the lab");
        await steps.stop(plan, lifecycle);
      }
      const created = (opts.now ?? (() => new Date()))().toISOString();
      const nodes = plan.nodes.map((n) => n.name);
      const disks = await snapshots.save(plan, name, nodes, ctx);
      const files: string[] = [];
      let fileBytes = etcd?.bytes ?? 0;
      for (const f of keptFiles(opts.clusterDir)) {
        const size = await copyKeepingMode(f, join(tmp, "files", basename(f))).catch((e: NodeJS.ErrnoException) => {
          if (e.code === "ENOENT") return undefined;
          throw e;
        });
        if (size === undefined) continue;
        files.push(basename(f));
        fileBytes += size;
      }
      const known = disks.filter((d) => d.addedBytes !== undefined);
      manifest = {
        name,
        cluster: plan.name,
        created,
        provider: plan.provider.name,
        nodes: plan.nodes.map((n) => {
          const d = disks.find((x) => x.node === n.name);
          return {
            name: n.name,
            role: n.role,
            ip: n.ip,
            location: d?.location ?? "",
            ...(d?.bytes !== undefined ? { bytes: d.bytes } : {}),
            ...(d?.addedBytes !== undefined ? { addedBytes: d.addedBytes } : {}),
          };
        }),
        ...(etcd ? { etcd } : {}),
        files,
        wasRunning,
        sizes: {
          files: fileBytes,
          ...(known.length === disks.length && known.length > 0
            ? { disks: known.reduce((s, d) => s + (d.addedBytes ?? 0), 0) }
            : {}),
        },
      };
      await writeFile(join(tmp, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    } catch (e) {
      if (wasRunning) await startAfterFailure(plan, opts, steps, lifecycle);
      throw e;
    }
    if (wasRunning) {
      opts.log("starting the lab again");
      await steps.start(plan, { ...lifecycle, timeoutMs: opts.timeoutMs });
    }
    return { ...manifest, seconds: seconds(started), started: wasRunning };
  } finally {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
  }
}

/** startAfterFailure starts a lab whose snapshot failed; its own failure is logged, the snapshot's is the one thrown. */
async function startAfterFailure(
  plan: Plan,
  opts: SnapshotOptions,
  steps: SnapshotSteps,
  lifecycle: LifecycleOptions,
): Promise<void> {
  if (opts.signal?.aborted) return;
  opts.log("the snapshot failed: starting the lab again");
  await steps.start(plan, { ...lifecycle, timeoutMs: opts.timeoutMs }).catch((e: unknown) => {
    opts.log(`the lab did not start again (${e instanceof Error ? e.message : String(e)}): kubelab start`);
  });
}

/** restorePlan is what a restore will do and lose, printed before it asks. */
export function restorePlan(plan: Plan, m: SnapshotManifest): string {
  const w = Math.max(4, ...m.nodes.map((n) => n.name.length));
  return [
    `Restore cluster ${plan.name} to snapshot ${m.name}, taken ${m.created}:`,
    `  every node's disk is replaced with its copy in the snapshot: everything written on any node since ${m.created} is lost`,
    "  (every Kubernetes object, volume and file created or changed since then, on every node);",
    `  kubelab's files of the cluster (${m.files.join(", ") || "none"}) are put back;`,
    "  the lab is stopped, restored, and started again.",
    "",
    `  ${"NODE".padEnd(w)}  ${"ROLE".padEnd(13)}  IP`,
    ...m.nodes.map((n) => `  ${n.name.padEnd(w)}  ${n.role.padEnd(13)}  ${n.ip}`),
  ].join("\n");
}

/** What restore reports. */
export interface RestoreSnapshotResult {
  readonly cluster: string;
  readonly name: string;
  readonly created: string;
  readonly nodes: readonly string[];
  readonly seconds: number;
}

/** refuseOtherLab: a snapshot goes back onto the lab it was taken of, node for node. */
function refuseOtherLab(plan: Plan, m: SnapshotManifest): void {
  if (m.provider !== plan.provider.name)
    throw new UserError(
      `snapshot ${m.name} was taken of ${m.provider} machines; cluster ${plan.name} now uses the ${plan.provider.name} provider`,
      { hint: "restore it with the cluster file it was taken with" },
    );
  const now = plan.nodes.map((n) => n.name).sort();
  const then = m.nodes.map((n) => n.name).sort();
  if (now.join(",") !== then.join(","))
    throw new UserError(
      `snapshot ${m.name} holds nodes ${then.join(", ")}; cluster ${plan.name} now has ${now.join(", ")}`,
      {
        hint: "a snapshot puts back the nodes it was taken of: restore it with the cluster file of that time, or take a new snapshot",
      },
    );
}

/**
 * restoreSnapshot returns the lab to snapshot `name`: what will be lost is printed and
 * `confirm` asked first; then the lab is stopped, every node's disk and kubelab's files put
 * back, and the lab started, waiting until every node and workload is Ready. Undefined when
 * the answer is no.
 */
export async function restoreSnapshot(
  plan: Plan,
  name: string,
  opts: SnapshotOptions & {
    readonly confirm: (question: string) => Promise<boolean>;
    readonly print: (text: string) => void;
  },
): Promise<RestoreSnapshotResult | undefined> {
  const snapshots = providerSnapshots(plan, opts.provider);
  const m = await existing(plan, opts.clusterDir, name);
  refuseOtherLab(plan, m);
  opts.print(restorePlan(plan, m));
  if (!(await opts.confirm(`Restore cluster ${plan.name} to snapshot ${name} (${m.created})?`))) return undefined;
  const steps = opts.steps ?? realSteps;
  const ctx = ctxOf(opts);
  const started = Date.now();
  const lifecycle = { provider: opts.provider, clusterDir: opts.clusterDir, log: opts.log, signal: opts.signal };
  const machines = await opts.provider.list(plan, ctx);
  const absent = plan.nodes.filter((n) => (machines.find((x) => x.node === n.name)?.state ?? "absent") === "absent");
  if (absent.length > 0)
    throw new UserError(
      `${absent.map((n) => n.name).join(", ")} of cluster ${plan.name} has no machine to restore onto`,
      {
        hint: "kubelab up makes the missing machines",
      },
    );
  if (machines.some((x) => x.state === "running")) {
    opts.log("stopping the lab");
    // Everything on the nodes is replaced next: no clean shutdown to wait for.
    await steps.stop(plan, { ...lifecycle, discard: true });
  }
  const nodes = plan.nodes.map((n) => n.name);
  await snapshots.restore(plan, name, nodes, ctx);
  opts.log(`putting kubelab's files back (${m.files.join(", ") || "none"})`);
  const dir = snapshotDir(opts.clusterDir, name);
  const byName = new Map(keptFiles(opts.clusterDir).map((f) => [basename(f), f]));
  for (const f of m.files) {
    const to = byName.get(f);
    if (to) await copyKeepingMode(join(dir, "files", f), to);
  }
  opts.log("starting the lab");
  await steps.start(plan, { ...lifecycle, timeoutMs: opts.timeoutMs });
  return { cluster: plan.name, name, created: m.created, nodes, seconds: seconds(started) };
}

/** deleteSnapshot removes snapshot `name`: the provider's copies of the disks, then kubelab's directory. */
export async function deleteSnapshot(plan: Plan, name: string, opts: SnapshotOptions): Promise<SnapshotManifest> {
  const snapshots = providerSnapshots(plan, opts.provider);
  const m = await existing(plan, opts.clusterDir, name);
  await snapshots.delete(
    plan,
    name,
    m.nodes.map((n) => n.name),
    ctxOf(opts),
  );
  await rm(snapshotDir(opts.clusterDir, name), { recursive: true, force: true });
  return m;
}
