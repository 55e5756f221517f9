/**
 * Baked boxes: the pinned base box with node preparation done and every image the cluster
 * needs already in containerd, made once by `kubelab image bake` and used by `up` for every
 * cluster with the same versions. This is what a Packer step does in hand-made labs, and the
 * biggest lever on time-to-ready: a node from a baked box has nothing left to install.
 *
 * A baked box is found by its key, a hash of everything that decides its contents (base box,
 * hypervisor, Kubernetes, containerd, the addons' versions, the recipe below), so a version
 * change in the cluster file simply finds no box and `up` falls back to the base box.
 * Records live in ${XDG_CACHE_HOME:-~/.cache}/kubelab/boxes/<key>.json; the box itself in
 * Vagrant's own store (`vagrant box list`).
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { bakeVersions } from "../../plan/bake.js";
import type { Plan } from "../../plan/types.js";
import { runVagrant } from "./cli.js";
import { parseMachineReadable } from "./parse-output.js";

/** Bumped when what a baked box contains changes for the same versions (2: no host keys, login key or machine-id of the baking VM). */
export const BAKE_RECIPE = 2;

/** What the cache records of a baked box. */
export interface BakedBox {
  /** The name it is added to Vagrant under: kubelab/<hypervisor>-<key prefix>. */
  readonly name: string;
  readonly key: string;
  readonly hypervisor: "virtualbox" | "libvirt";
  readonly base: { readonly box: string; readonly version?: string };
  readonly kubernetes: string;
  readonly containerd: string;
  readonly images: readonly string[];
  readonly created: string;
}

function vagrantOf(plan: Plan) {
  if (plan.provider.name !== "vagrant")
    throw new Error(`baked boxes are for the vagrant provider, not ${plan.provider.name}`);
  return plan.provider;
}

/** bakeKey is the hash of everything that decides a baked box's contents. Pure. */
export function bakeKey(plan: Plan): string {
  const p = vagrantOf(plan);
  const inputs = {
    recipe: BAKE_RECIPE,
    hypervisor: p.hypervisor,
    box: p.box,
    boxVersion: p.boxVersion ?? null,
    ...bakeVersions(plan),
  };
  return createHash("sha256").update(JSON.stringify(inputs)).digest("hex");
}

/** The Vagrant box name of a plan's baked box. */
export const bakedBoxName = (plan: Plan) => `kubelab/${vagrantOf(plan).hypervisor}-${bakeKey(plan).slice(0, 12)}`;

/** Where baked box records (and, while baking, the baking VM's directory) live. */
export function boxesDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "kubelab", "boxes");
}

const recordPath = (key: string) => join(boxesDir(), `${key}.json`);

/** withBox is the plan with its nodes made from the baked box. Pure. */
export function withBox(plan: Plan, baked: BakedBox): Plan {
  const p = vagrantOf(plan);
  return { ...plan, provider: { ...p, box: baked.name, boxVersion: undefined } };
}

/** The boxes Vagrant has, as name/provider pairs (`vagrant box list --machine-readable`). */
export async function installedBoxes(env?: NodeJS.ProcessEnv): Promise<{ name: string; provider: string }[]> {
  // Run in a directory of its own: box commands need no Vagrantfile, and none must be loaded.
  const dir = join(boxesDir(), ".query");
  await mkdir(dir, { recursive: true });
  const out = (await runVagrant(["box", "list", "--machine-readable"], { clusterDir: dir, env, timeoutMs: 60_000 }))
    .stdout;
  const boxes: { name: string; provider: string }[] = [];
  for (const row of parseMachineReadable(out)) {
    if (row.type === "box-name") boxes.push({ name: row.data[0] ?? "", provider: "" });
    const current = boxes.at(-1);
    if (row.type === "box-provider" && current) current.provider = row.data[0] ?? "";
  }
  return boxes;
}

/** findBakedBox returns the plan's baked box when its record exists and Vagrant still has the box. */
export async function findBakedBox(plan: Plan, env?: NodeJS.ProcessEnv): Promise<BakedBox | undefined> {
  const text = await readFile(recordPath(bakeKey(plan)), "utf8").catch(() => undefined);
  if (!text) return undefined;
  const record = JSON.parse(text) as BakedBox;
  const boxes = await installedBoxes(env);
  return boxes.some((b) => b.name === record.name && b.provider === record.hypervisor) ? record : undefined;
}

/** recordBakedBox writes a baked box's record (after `vagrant box add`). */
export async function recordBakedBox(box: BakedBox): Promise<void> {
  await mkdir(boxesDir(), { recursive: true });
  await writeFile(recordPath(box.key), `${JSON.stringify(box, null, 2)}\n`);
}

/** forgetBakedBox removes a baked box's record (the box stays in Vagrant until `vagrant box remove`). */
export const forgetBakedBox = (key: string) => rm(recordPath(key), { force: true });
