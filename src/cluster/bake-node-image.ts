/**
 * `kubelab image bake` for the nspawn provider: one node from the base image, node
 * preparation exactly as `up` runs it, every image the cluster needs put into containerd
 * (imported from a bundle, or pulled), then the node stopped and its root filesystem sealed
 * and kept as the baked node image of the cluster's versions (providers/nspawn/baked-images.ts).
 * New nodes of every cluster with those versions are copies of it: what kind's node image is.
 * The baking node is removed whatever happens.
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { PackageSource } from "../artifacts/package-source.js";
import { UserError } from "../errors.js";
import type { Status } from "../phases/phase.js";
import { bakePlan, networkOf } from "../plan/bake.js";
import type { Plan } from "../plan/types.js";
import { type BakedImage, bakedImagesDir, nodeImageKey, storeBakedImage } from "../providers/nspawn/baked-images.js";
import { imageDir } from "../providers/nspawn/image.js";
import { nodePaths } from "../providers/nspawn/machine.js";
import { freeNetwork } from "../providers/nspawn/network.js";
import { createNspawnProvider } from "../providers/nspawn/provider.js";
import { prepareBakingMachine } from "./bake-box.js";
import { withStatus } from "./with-status.js";

/** Options of {@link bakeNodeImage}. */
export interface BakeNodeImageOptions {
  /** Where packages come from: upstream, or a bundle (whose images are then imported). */
  readonly packages: PackageSource;
  /** Images to pull on the node when the package source carries none (online). */
  readonly pull: readonly string[];
  /** Registries to pull from instead (registry host -> base URL). */
  readonly mirrors?: ReadonlyMap<string, string>;
  readonly log: (line: string) => void;
  readonly status: Status;
  readonly signal?: AbortSignal;
}

/**
 * Networks the baking node may take, the first one no host interface uses: a bridge of its
 * own, so that baking never disturbs a running lab on the cluster's network.
 */
export const BAKE_NETWORKS: readonly string[] = Array.from({ length: 16 }, (_, i) => `10.254.${240 + i}.0/29`);

/** bakeNodeImage makes the plan's baked node image and records it; it returns the record. */
export async function bakeNodeImage(plan: Plan, opts: BakeNodeImageOptions): Promise<BakedImage> {
  if (plan.provider.name !== "nspawn") throw new Error("bakeNodeImage needs an nspawn plan");
  const cidr = await freeNetwork(BAKE_NETWORKS);
  if (!cidr)
    throw new UserError(`every network kubelab bakes node images on is in use on this host (${BAKE_NETWORKS[0]} ...)`, {
      hint: "remove the interfaces with addresses in 10.254.240.0/20, or bake on another host",
    });
  const baking = bakePlan(plan, networkOf(cidr));
  const key = nodeImageKey(plan);
  const clusterDir = join(bakedImagesDir(), `${key.slice(0, 12)}.d`);
  await rm(clusterDir, { recursive: true, force: true });
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  // From the base image, never from an earlier baked one.
  const provider = createNspawnProvider({ bakedImages: false });
  const pctx = { clusterDir, log: opts.log, signal: opts.signal };
  const images = opts.packages.images ?? [];
  let record: BakedImage;
  try {
    await prepareBakingMachine(baking, provider, clusterDir, opts, async (node) => {
      // containerd's metadata on disk complete before the node is stopped at once.
      await node.run(["sh", "-c", "systemctl stop containerd && sync"]);
    });
    record = {
      key,
      base: imageDir(plan.provider.release).split("/").at(-1) ?? plan.provider.release,
      kubernetes: plan.kubernetes.version,
      containerd: plan.containerd.version,
      images: images.length > 0 ? images.map((i) => i.name) : [...opts.pull],
      created: new Date().toISOString(),
    };
    await withStatus(opts.status, "Seal the node image", async () => {
      await provider.stop(baking, ["bake"], pctx, { discard: true });
      await storeBakedImage(nodePaths(baking.name, "bake").rootfs, record);
    });
  } finally {
    await provider
      .destroy(baking, pctx)
      .catch((e: Error) => opts.log(`bake: could not remove the baking node: ${e.message}`));
  }
  // Only after success: a failure leaves the directory, whose logs/ has the run's output.
  await rm(clusterDir, { recursive: true, force: true });
  return record;
}
