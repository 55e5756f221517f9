/**
 * renderCluster gathers everything kubelab would write for a plan: each node's files and
 * the cluster objects kubelab owns. Inputs that are not pure (generated keys, upstream
 * manifests read from disk or a cache) are passed in, so this stays a pure function.
 */
import type { Plan } from "../plan/types.js";
import { PINNED, type PinnedFile } from "../versions.js";
import { transformCalico } from "./calico.js";
import { controlPlaneValues, type LinkerdState } from "./linkerd-values.js";
import { parseManifest, stringifyManifest } from "./manifests.js";
import { metallbObjects } from "./metallb.js";
import type { NodeEnvironment } from "./node-environment.js";
import { renderNodeFiles } from "./node-files.js";
import type { RenderedFile } from "./types.js";
import { transformHeadlamp, uiObjects } from "./ui.js";

/** Inputs of {@link renderCluster} that come from outside the plan. */
export interface ClusterRenderInputs {
  /** Linkerd's trust anchor, issuer and webhook certificates, when Linkerd is enabled. */
  readonly linkerd?: LinkerdState;
  /** The pinned manifests the plan's addons apply (src/addons addonManifests), for upstream.sha256. */
  readonly manifests?: readonly PinnedFile[];
  /** The text of a pinned upstream file, already verified against its sha256, if available. */
  readonly upstream?: (file: PinnedFile) => string | undefined;
  /** What kind of machine every node is (as its provider declares): containers and cgroup v1 change node files. */
  readonly nodeEnvironment: NodeEnvironment;
  /** Files the machine provider keeps in the cluster folder (the Vagrantfile). */
  readonly providerFiles?: readonly RenderedFile[];
}

/** Everything rendered for one cluster. */
export interface RenderedCluster {
  readonly nodes: readonly { readonly node: string; readonly files: readonly RenderedFile[] }[];
  /** Cluster-level files, paths relative to the cluster folder. */
  readonly cluster: readonly RenderedFile[];
  /** Pinned upstream files kubelab applies that were not available to transform. */
  readonly missingUpstream: readonly PinnedFile[];
}

/** renderCluster renders every node's files and the cluster-level objects. */
export function renderCluster(plan: Plan, inputs: ClusterRenderInputs): RenderedCluster {
  const nodes = plan.nodes.map((n) => ({ node: n.name, files: renderNodeFiles(plan, n.name, inputs.nodeEnvironment) }));
  const cluster: RenderedFile[] = [];
  const missing: PinnedFile[] = [];
  const upstream = (file: PinnedFile) => {
    const text = inputs.upstream?.(file);
    if (text === undefined) missing.push(file);
    return text;
  };
  const owned = [...metallbObjects(plan), ...uiObjects(plan)];
  if (owned.length > 0) cluster.push({ path: "kubelab-objects.yaml", content: stringifyManifest(owned) });
  if (plan.addons.cni.plugin === "calico") {
    const text = upstream(PINNED.calico.manifest);
    if (text)
      cluster.push({ path: "calico.yaml", content: stringifyManifest(transformCalico(parseManifest(text), plan)) });
  }
  if (plan.addons.ui.kind === "headlamp") {
    const text = upstream(PINNED.headlamp.manifest);
    if (text)
      cluster.push({ path: "headlamp.yaml", content: stringifyManifest(transformHeadlamp(parseManifest(text), plan)) });
  }
  if (plan.addons.linkerd.enabled && inputs.linkerd) {
    cluster.push({ path: "linkerd-identity-values.yaml", content: controlPlaneValues(inputs.linkerd), mode: 0o600 });
  }
  cluster.push(...(inputs.providerFiles ?? []));
  const pinned = (inputs.manifests ?? []).map((f) => `${f.sha256}  ${f.url}`).join("\n");
  cluster.push({ path: "upstream.sha256", content: `${pinned}\n` });
  return { nodes, cluster, missingUpstream: missing };
}
