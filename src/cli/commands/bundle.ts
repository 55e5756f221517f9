import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { isArchivePath, packBundle } from "../../bundle/archive.js";
import { createBundle, pinnedSources } from "../../bundle/create.js";
import { UserError } from "../../errors.js";
import type { Arch } from "../../versions.js";
import type { ClusterChoice } from "../cluster-option.js";
import { type Io, note } from "../io.js";
import { loadPlanOrFail } from "./validated.js";

export interface BundleCreateOptions extends ClusterChoice {
  out: string;
  arch: string;
  mirror?: string[];
}

/** bundleCreate collects everything `up --bundle` needs for the cluster file's versions. */
export async function bundleCreate(opts: BundleCreateOptions, io: Io): Promise<void> {
  const plan = await loadPlanOrFail(opts.file, io, opts.cwd);
  const out = resolve(opts.out);
  if (existsSync(out)) throw new UserError(`${out} exists`, { hint: "choose a new directory for the bundle" });
  const arch = opts.arch as Arch;
  const started = Date.now();
  // A .tar is made from a directory next to it.
  const dir = isArchivePath(out) ? `${out}.d` : out;
  if (existsSync(dir)) throw new UserError(`${dir} exists`, { hint: "remove it, or choose another name" });
  const b = await createBundle(plan, pinnedSources(plan, arch), dir, {
    arch,
    mirrors: opts.mirror ?? [],
    log: (l) => io.err(`   ${l}`),
  });
  if (dir !== out) await packBundle(dir, out);
  note(
    io,
    `bundle ${out}: Kubernetes ${b.kubernetes.version} (${b.kubernetes.debs.length} packages), containerd ${b.containerd.version}, ${b.images.length} images, ${b.upstream.length} manifests, ${b.charts.length} charts, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  if (b.kubernetes.requires.length > 0)
    note(io, `nodes need these from their distribution: ${b.kubernetes.requires.join(", ")}`);
  note(io, `use it with: kubelab up --bundle ${out}`);
}
