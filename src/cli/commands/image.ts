import { onlineSources } from "../../addons/sources.js";
import { bundleSource, readBundle } from "../../artifacts/offline-bundle.js";
import { upstreamSource } from "../../artifacts/package-source.js";
import { cachingStore } from "../../artifacts/store.js";
import { openBundle } from "../../bundle/archive.js";
import { imagesOfAddons } from "../../bundle/create.js";
import { parseMirrors } from "../../bundle/mirrors.js";
import { bakeBox } from "../../cluster/bake-box.js";
import { bakeNodeImage } from "../../cluster/bake-node-image.js";
import { UserError } from "../../errors.js";
import { clusterDir, openRunLog } from "../../plan/cluster-dir.js";
import { kubeadmImages } from "../../plan/kubeadm-images.js";
import type { Plan } from "../../plan/types.js";
import type { ClusterChoice } from "../cluster-option.js";
import { type Io, note } from "../io.js";
import { lineStatus } from "../progress.js";
import { logFailures } from "../run-log-errors.js";
import { locked } from "./locked.js";
import { loadPlanOrFail } from "./validated.js";

export interface ImageBakeOptions extends ClusterChoice {
  bundle?: string;
  mirror?: string[];
}

/**
 * imageBake makes the baked node of the cluster file's versions: a Vagrant box (vagrant
 * provider) or a node image (nspawn provider).
 */
export async function imageBake(opts: ImageBakeOptions, io: Io): Promise<void> {
  const plan = await loadPlanOrFail(opts.file, io, opts.cwd);
  if (plan.provider.name !== "vagrant" && plan.provider.name !== "nspawn")
    throw new UserError(
      `image bake makes Vagrant boxes and nspawn node images; cluster ${plan.name} uses the ${plan.provider.name} provider, whose hosts exist already`,
      {
        hint: "set provider.name: vagrant or nspawn in the cluster file",
      },
    );
  const dir = clusterDir(plan, opts.file, opts.cwd);
  return locked(plan, dir, "image bake", io, () => bakeIn(plan, dir, opts, io));
}

/** bakeIn is imageBake with the cluster locked. */
async function bakeIn(plan: Plan, dir: string, opts: ImageBakeOptions, io: Io): Promise<void> {
  const log = await openRunLog(dir, "image-bake");
  return logFailures(log, async () => {
    const started = Date.now();
    const bundle = opts.bundle && (await openBundle(opts.bundle));
    const manifest = bundle ? await readBundle(bundle, plan) : undefined;
    const warn = (line: string) => {
      log.write(`warning: ${line}`);
      io.err(`warning: ${line}`);
    };
    const took = () => `in ${((Date.now() - started) / 1000).toFixed(1)} s (log: ${log.path})`;
    try {
      // Online, the machine pulls what the cluster runs: kubeadm's images and the addons' (as rendered by up).
      const pull =
        bundle && manifest ? [] : [...kubeadmImages(plan), ...(await imagesOfAddons(plan, onlineSources(), warn))];
      const common = {
        packages: bundle && manifest ? bundleSource(bundle, manifest) : upstreamSource(plan, cachingStore()),
        pull,
        mirrors: parseMirrors(opts.mirror ?? []).registries,
        signal: io.signal,
        log: (line: string) => log.write(line),
        status: lineStatus((line) => {
          log.write(line);
          io.err(line);
        }),
      };
      if (plan.provider.name === "nspawn") {
        const image = await bakeNodeImage(plan, common);
        note(
          io,
          `baked node image ${image.key.slice(0, 12)}: ${image.base} with Kubernetes ${image.kubernetes}, containerd ${image.containerd} and ${image.images.length} images, ${took()}`,
        );
        note(io, "kubelab up makes new nodes of clusters with these versions from it");
        return;
      }
      const box = await bakeBox(plan, common);
      note(
        io,
        `baked box ${box.name}: ${box.base.box}${box.base.version ? ` ${box.base.version}` : ""} with Kubernetes ${box.kubernetes}, containerd ${box.containerd} and ${box.images.length} images, ${took()}`,
      );
      note(io, "kubelab up makes new nodes of clusters with these versions from it");
    } finally {
      await log.flush();
    }
  });
}
