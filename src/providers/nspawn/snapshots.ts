/**
 * Snapshots of nspawn nodes: a copy of each stopped node's root, kept next to the machines
 *
 *   /var/lib/kubelab/nspawn/<cluster>/.snapshots/<name>/<node>/rootfs/
 *
 * so that removing the cluster's machines removes them too. A copy shares what it can with
 * the snapshots before it: `cp -a --reflink=auto` shares blocks on a filesystem with reflinks
 * (btrfs, xfs); on one without (ext4), when rsync is on this host and the node has an earlier
 * snapshot, `rsync --link-dest` hard-links every file unchanged since that snapshot to it, so
 * only changed files take new space. Restoring copies the snapshot back (never links to it), so
 * a restored node writing its files never changes the snapshot; with rsync only the files that
 * differ are copied and those made since are deleted.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Plan } from "../../plan/types.js";
import { which } from "../host.js";
import type { MachineSnapshots, ProviderContext, SnapshotDisk } from "../types.js";
import { requireTools, run, unmountUnder } from "./host.js";
import { clusterRoot, nodePaths, nspawnPid } from "./machine.js";

/** A copy of a node's root takes as long as the disk needs: minutes for a few GB on a slow one. */
const COPY_TIMEOUT_MS = 60 * 60_000;

/** The directory of the cluster's snapshots; its name starts with a dot, which no node name does. */
export function snapshotsRoot(cluster: string): string {
  return join(clusterRoot(cluster), ".snapshots");
}

/** Where snapshot `name` keeps `node`'s root. */
export function snapshotRootfs(cluster: string, name: string, node: string): string {
  return join(snapshotsRoot(cluster), name, node, "rootfs");
}

/** Directories of work in progress: a save being built, a replaced one being removed. */
const PARTIAL = /\.(tmp|old)$/;

/** snapshotNames lists the complete snapshots that hold `node`, oldest first. */
async function snapshotNames(cluster: string, node: string): Promise<string[]> {
  const root = snapshotsRoot(cluster);
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const found: { name: string; mtime: number }[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || PARTIAL.test(e.name)) continue;
    const st = await stat(join(root, e.name, node, "rootfs")).catch(() => undefined);
    if (st?.isDirectory()) found.push({ name: e.name, mtime: (await stat(join(root, e.name, node))).mtimeMs });
  }
  return found.sort((a, b) => a.mtime - b.mtime || a.name.localeCompare(b.name)).map((f) => f.name);
}

/** The nodes' roots belong to root: copying them, and putting them back, needs root. */
const needRoot = () => requireTools({ cp: "coreutils", du: "coreutils" });

/** refuseRunning: a copy of a running node's root would not be one point in time. */
function refuseRunning(cluster: string, nodes: readonly string[], what: string): void {
  const running = nodes.filter((n) => nspawnPid(cluster, n) !== undefined);
  if (running.length > 0) throw new Error(`${what} needs the machines stopped; ${running.join(", ")} still run`);
}

/** KiB on disk of each path, hard-linked files counted once, at the first path that has them (du -sk). */
async function diskKiB(paths: readonly string[]): Promise<number[]> {
  const out = await run("du", ["-sk", ...paths], { timeoutMs: COPY_TIMEOUT_MS });
  return out
    .trim()
    .split("\n")
    .map((l) => Number.parseInt(l, 10) * 1024);
}

/** copyRoot copies `from` to `to` (absent): linked to `linkDest` with rsync when given, else cp --reflink=auto. */
async function copyRoot(from: string, to: string, linkDest: string | undefined): Promise<void> {
  const rsync = which("rsync");
  if (linkDest && rsync) {
    // -H hard links, -A ACLs, -X xattrs (file capabilities), -S sparse files, ids as numbers: the node's users
    // are not the host's. A file is linked when its size and modification time (to the
    // nanosecond: --modify-window=-1; whole seconds would take a file rewritten with as many
    // bytes in the same second for unchanged) and attributes match the earlier snapshot's.
    await run(
      rsync,
      ["-aHAXS", "--numeric-ids", "--modify-window=-1", `--link-dest=${linkDest}`, `${from}/`, `${to}/`],
      { timeoutMs: COPY_TIMEOUT_MS },
    );
    return;
  }
  await run("cp", ["-a", "--reflink=auto", from, to], { timeoutMs: COPY_TIMEOUT_MS });
}

async function save(plan: Plan, name: string, nodes: readonly string[], ctx: ProviderContext): Promise<SnapshotDisk[]> {
  needRoot();
  refuseRunning(plan.name, nodes, "a snapshot");
  const root = snapshotsRoot(plan.name);
  const tmp = join(root, `${name}.tmp`);
  const final = join(root, name);
  await unmountUnder(tmp);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true, mode: 0o700 });
  try {
    // The nodes at once: each copy waits on the disk as much as on the CPU.
    await Promise.all(
      nodes.map(async (node) => {
        const from = nodePaths(plan.name, node).rootfs;
        if (!existsSync(from)) throw new Error(`${node} has no root file system at ${from}`);
        const earlier = (await snapshotNames(plan.name, node)).at(-1);
        const linkDest = earlier ? snapshotRootfs(plan.name, earlier, node) : undefined;
        const how = linkDest && which("rsync") ? `rsync --link-dest ${earlier}` : "cp -a --reflink=auto";
        ctx.log(`${node}: copying its root (${how})`);
        const started = Date.now();
        await mkdir(join(tmp, node), { mode: 0o700 });
        await copyRoot(from, join(tmp, node, "rootfs"), linkDest);
        ctx.log(`${node}: copied in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }),
    );
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw e;
  }
  // Replaced only once the new one is whole.
  if (existsSync(final)) {
    await rm(`${final}.old`, { recursive: true, force: true });
    await rename(final, `${final}.old`);
  }
  await rename(tmp, final);
  await rm(`${final}.old`, { recursive: true, force: true });
  const disks: SnapshotDisk[] = [];
  for (const node of nodes) {
    const others = (await snapshotNames(plan.name, node)).filter((n) => n !== name);
    const sizes = await diskKiB([...others.map((o) => join(root, o, node)), join(final, node)]);
    const [whole] = await diskKiB([join(final, node)]);
    disks.push({ node, location: join(final, node), bytes: whole, addedBytes: sizes.at(-1) });
  }
  return disks;
}

async function restore(plan: Plan, name: string, nodes: readonly string[], ctx: ProviderContext): Promise<void> {
  needRoot();
  refuseRunning(plan.name, nodes, "restoring a snapshot");
  const missing = nodes.filter((n) => !existsSync(snapshotRootfs(plan.name, name, n)));
  if (missing.length > 0) throw new Error(`snapshot ${name} has no copy of ${missing.join(", ")}`);
  await Promise.all(nodes.map((node) => restoreRoot(plan, name, node, ctx)));
}

/**
 * restoreRoot puts snapshot `name`'s root back as `node`'s. With rsync on this host the root is
 * brought to the snapshot in place: only files that differ are copied (to a temporary name,
 * then renamed, so the snapshot's files are never linked into a machine that would change
 * them), files made since are deleted, and a restore takes as long as the changes, not the
 * whole root. Without rsync the snapshot is copied whole and swapped in.
 */
async function restoreRoot(plan: Plan, name: string, node: string, ctx: ProviderContext): Promise<void> {
  const p = nodePaths(plan.name, node);
  const from = snapshotRootfs(plan.name, name, node);
  ctx.log(`${node}: replacing its root with snapshot ${name}'s`);
  const started = Date.now();
  // Never write into (or recurse through) something still mounted: a bind mount is the host's.
  await unmountUnder(p.rootfs);
  const rsync = which("rsync");
  if (rsync && existsSync(p.rootfs)) {
    await run(
      rsync,
      ["-aHAXS", "--numeric-ids", "--modify-window=-1", "--delete", "--force", `${from}/`, `${p.rootfs}/`],
      { timeoutMs: COPY_TIMEOUT_MS },
    );
  } else {
    const next = `${p.rootfs}.restore`;
    const old = `${p.rootfs}.old`;
    await rm(next, { recursive: true, force: true });
    await run("cp", ["-a", "--reflink=auto", from, next], { timeoutMs: COPY_TIMEOUT_MS });
    await rm(old, { recursive: true, force: true });
    await mkdir(p.dir, { recursive: true, mode: 0o700 });
    if (existsSync(p.rootfs)) await rename(p.rootfs, old);
    await rename(next, p.rootfs);
    await rm(old, { recursive: true, force: true });
  }
  ctx.log(`${node}: restored in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function remove(plan: Plan, name: string, _nodes: readonly string[], _ctx: ProviderContext): Promise<void> {
  const dir = join(snapshotsRoot(plan.name), name);
  await unmountUnder(dir);
  await rm(dir, { recursive: true, force: true });
  await rmdir(snapshotsRoot(plan.name)).catch(() => {});
}

/** removeAllSnapshots removes every snapshot of the cluster (with its machines, on down). */
export async function removeAllSnapshots(cluster: string): Promise<void> {
  const root = snapshotsRoot(cluster);
  await unmountUnder(root);
  await rm(root, { recursive: true, force: true });
}

export const nspawnSnapshots: MachineSnapshots = {
  save,
  restore,
  delete: remove,
  list: (plan, node) => snapshotNames(plan.name, node),
};
