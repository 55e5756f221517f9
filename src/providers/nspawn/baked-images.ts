/**
 * Baked node images: the node image (image.ts) with node preparation done and every image
 * the cluster needs already in containerd, made once by `kubelab image bake` and copied for
 * every new node of a cluster with the same versions, as kind's node image is. A node made
 * from one has nothing left to install or import: preparation writes its own files and
 * restarts what they concern.
 *
 * A baked image is found by its key, a hash of the base image (release and recipe), the
 * versions that decide what a node holds (plan/bake.ts) and the recipe below, so a version
 * change in the cluster file finds none and `up` starts from the base image as before.
 *
 *   ${XDG_CACHE_HOME:-~/.cache}/kubelab/images/baked/   ($KUBELAB_BAKED_DIR)
 *     <key>.json        the record
 *     <key 12>/rootfs/  the root filesystem, copied for each new node
 *     <key 12>/linked/  containerd's images, hard-linked into each new node (LINKED_TREES)
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { bakeVersions } from "../../plan/bake.js";
import type { Plan } from "../../plan/types.js";
import { errno, imagesRoot, run, unmountUnder } from "./host.js";
import { imageDir } from "./image.js";
import { LABEL_PATH } from "./machine.js";

/** Bumped when what a baked image holds changes for the same versions. */
export const NODE_BAKE_RECIPE = 1;

/** What the cache records of a baked node image. */
export interface BakedImage {
  readonly key: string;
  /** The base image it was made from (distro, release, recipe), e.g. debian-bookworm-v3. */
  readonly base: string;
  readonly kubernetes: string;
  readonly containerd: string;
  /** The container images in its containerd. */
  readonly images: readonly string[];
  readonly created: string;
}

function releaseOf(plan: Plan): string {
  if (plan.provider.name !== "nspawn") throw new Error(`baked node images are for nspawn, not ${plan.provider.name}`);
  return plan.provider.release;
}

/** nodeImageKey is the hash of everything that decides a baked node image's contents. Pure. */
export function nodeImageKey(plan: Plan): string {
  const inputs = { recipe: NODE_BAKE_RECIPE, base: basename(imageDir(releaseOf(plan))), ...bakeVersions(plan) };
  return createHash("sha256").update(JSON.stringify(inputs)).digest("hex");
}

/** Where baked node images live. */
export function bakedImagesDir(): string {
  return process.env.KUBELAB_BAKED_DIR || join(imagesRoot(), "baked");
}

const recordPath = (key: string) => join(bakedImagesDir(), `${key}.json`);

/** The root filesystem of the baked image with this key. */
export const bakedImageRoot = (key: string) => join(bakedImagesDir(), key.slice(0, 12), "rootfs");

/**
 * The trees of a baked image that no node ever writes into: containerd's content store (each
 * blob written once under its digest, then only read or deleted) and its overlay snapshots
 * (an image's unpacked layers, only ever the read-only lower layers of containers; a
 * container's own layer is a new snapshot). They are kept beside the root filesystem, and a
 * new node gets hard links to their files instead of copies: most of a baked image's bytes,
 * shared by every node. Whatever a node does to them (containerd deleting an image) unlinks
 * its own names only.
 */
export const LINKED_TREES: readonly string[] = [
  "var/lib/containerd/io.containerd.content.v1.content/blobs",
  "var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots",
];

/** The hard-linked part of the baked image with this key ({@link LINKED_TREES}, at the same paths). */
export const bakedImageLinked = (key: string) => join(bakedImagesDir(), key.slice(0, 12), "linked");

/** findBakedImage returns the plan's baked image when its record and its root filesystem exist. */
export async function findBakedImage(plan: Plan): Promise<BakedImage | undefined> {
  const key = nodeImageKey(plan);
  const text = await readFile(recordPath(key), "utf8").catch(() => undefined);
  if (!text || !existsSync(join(bakedImageRoot(key), "etc/os-release"))) return undefined;
  return JSON.parse(text) as BakedImage;
}

/** The baked images on this host, newest first. */
export async function listBakedImages(): Promise<BakedImage[]> {
  const names = await readdir(bakedImagesDir()).catch(() => [] as string[]);
  const records = await Promise.all(
    names
      .filter((n) => n.endsWith(".json"))
      .map(async (n) => JSON.parse(await readFile(join(bakedImagesDir(), n), "utf8")) as BakedImage),
  );
  return records.sort((a, b) => b.created.localeCompare(a.created));
}

/**
 * What is the baking machine's own and must not be copied into every node: its identity
 * (machine-id, SSH host keys, hostname, address, kubelab's label, the cluster's login key),
 * its journal, and kubelab's download spool. Node creation gives each node its own
 * (machine.ts provisionNode); node preparation rewrites the files that name the node.
 */
const OWN = [
  "etc/ssh/ssh_host_*",
  "root/.ssh/authorized_keys",
  LABEL_PATH,
  "etc/systemd/network/10-kubelab-host0.network",
  "var/cache/kubelab/*",
  "var/log/journal/*",
  "var/lib/dbus/machine-id",
];

/**
 * sealNodeRoot generalises a stopped baking node's root filesystem in place: what {@link OWN}
 * lists removed, machine-id emptied (systemd's "not yet initialised"), the hostname reset,
 * /var/lib/dbus/machine-id linked to /etc/machine-id as the base image has it.
 */
export async function sealNodeRoot(root: string): Promise<void> {
  for (const pattern of OWN) {
    const star = pattern.lastIndexOf("*");
    if (star === -1) {
      await rm(join(root, pattern), { recursive: true, force: true });
      continue;
    }
    const dir = join(root, pattern.slice(0, pattern.lastIndexOf("/")));
    const prefix = pattern.slice(pattern.lastIndexOf("/") + 1, star);
    for (const e of await readdir(dir).catch(() => [] as string[]))
      if (e.startsWith(prefix)) await rm(join(dir, e), { recursive: true, force: true });
  }
  await writeFile(join(root, "etc/machine-id"), "");
  await writeFile(join(root, "etc/hostname"), "localhost\n");
  await mkdir(join(root, "var/lib/dbus"), { recursive: true });
  await symlink("/etc/machine-id", join(root, "var/lib/dbus/machine-id"));
}

/**
 * storeBakedImage seals `root` (a stopped baking node's root filesystem, moved, not copied)
 * and makes it the baked image of `record.key`, replacing an earlier one of the same key;
 * the record is written last, so a crash leaves no image that looks complete.
 */
export async function storeBakedImage(root: string, record: BakedImage): Promise<string> {
  await sealNodeRoot(root);
  const target = bakedImageRoot(record.key);
  await forgetBakedImage(record.key);
  await mkdir(join(target, ".."), { recursive: true });
  await rename(root, target).catch(async (err: unknown) => {
    // The cache on another file system than the machines: a copy, then the original goes.
    if (errno(err) !== "EXDEV") throw err;
    await run("cp", ["-a", "--reflink=auto", root, `${target}.tmp`], { timeoutMs: 30 * 60_000 });
    await rename(`${target}.tmp`, target);
    await rm(root, { recursive: true, force: true });
  });
  const linked = bakedImageLinked(record.key);
  for (const tree of LINKED_TREES) {
    const from = join(target, tree);
    const info = await stat(from).catch(() => undefined);
    if (!info?.isDirectory()) continue;
    await mkdir(dirname(join(linked, tree)), { recursive: true });
    await rename(from, join(linked, tree));
    await mkdir(from, { mode: info.mode & 0o7777 });
    await chmod(from, info.mode & 0o7777);
  }
  await writeFile(recordPath(record.key), `${JSON.stringify(record, null, 2)}\n`);
  return target;
}

/** forgetBakedImage removes a baked image: its record first, then its root filesystem. */
export async function forgetBakedImage(key: string): Promise<void> {
  await rm(recordPath(key), { force: true });
  const dir = join(bakedImageRoot(key), "..");
  await unmountUnder(dir);
  await rm(dir, { recursive: true, force: true });
}
