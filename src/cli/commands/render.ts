import { join } from "node:path";
import { readPinnedFiles } from "../../artifacts/local.js";
import { writeTree } from "../../artifacts/tree.js";
import { renderCluster, upstreamManifests } from "../../render/cluster.js";
import { generateLinkerdIdentity } from "../../render/linkerd-identity.js";
import type { Io } from "../io.js";
import { loadPlanOrFail } from "./validated.js";

export interface RenderOptions {
  file?: string;
  out: string;
  upstream?: string;
}

/** render writes every node file and cluster object kubelab would produce, one folder per node plus cluster/. */
export async function render(opts: RenderOptions, io: Io): Promise<void> {
  const plan = await loadPlanOrFail(opts.file, io);
  const upstream = opts.upstream ? await readPinnedFiles(opts.upstream, upstreamManifests(plan)) : new Map();
  const linkerd = plan.addons.linkerd.enabled ? await generateLinkerdIdentity() : undefined;
  const rendered = renderCluster(plan, { linkerd, upstream: (f) => upstream.get(f) });
  let count = 0;
  for (const n of rendered.nodes) count += (await writeTree(join(opts.out, n.node), n.files)).length;
  count += (await writeTree(join(opts.out, "cluster"), rendered.cluster)).length;
  io.out(`wrote ${count} files for ${rendered.nodes.length} nodes to ${opts.out}`);
  if (rendered.missingUpstream.length > 0) {
    io.err(
      `not transformed (no pinned copy${opts.upstream ? ` in ${opts.upstream}` : "; pass --upstream DIR"}):\n${rendered.missingUpstream.map((f) => `  ${f.url}`).join("\n")}`,
    );
  }
}
