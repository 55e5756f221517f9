/**
 * Every container image a cluster needs: kubeadm's control plane (at the pinned Kubernetes
 * release) and the images in the addon manifests kubelab applies, as transformed for the plan.
 */
import { parseAllDocuments } from "yaml";
import type { Plan } from "../plan/types.js";
import { renderCluster, upstreamManifests } from "../render/cluster.js";
import { PINNED, type PinnedFile } from "../versions.js";

/** kubeadmImages are the images `kubeadm config images list` prints for the plan's release. */
export function kubeadmImages(plan: Plan): string[] {
  const v = plan.kubernetes.version;
  return [
    ...["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"].map(
      (c) => `registry.k8s.io/${c}:${v}`,
    ),
    plan.kubernetes.images.coredns,
    plan.kubernetes.images.pause,
    plan.kubernetes.images.etcd,
  ];
}

/** imagesIn lists the container images of every pod template in a multi-document manifest. */
export function imagesIn(manifest: string): string[] {
  const found = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      for (const [k, child] of Object.entries(v)) {
        if (["containers", "initContainers", "ephemeralContainers"].includes(k) && Array.isArray(child)) {
          for (const c of child) if (c && typeof c.image === "string") found.add(c.image);
        }
        walk(child);
      }
    }
  };
  for (const doc of parseAllDocuments(manifest)) walk(doc.toJS());
  return [...found];
}

/**
 * addonImages lists the images of the plan's addon manifests: kubelab's transformed copies
 * where it transforms a manifest (Calico, Headlamp), the pinned files as they are otherwise.
 */
export function addonImages(plan: Plan, upstream: (file: PinnedFile) => string | undefined): string[] {
  const rendered = renderCluster(plan, { upstream });
  const transformed = new Set<PinnedFile>([PINNED.calico.manifest, PINNED.headlamp.manifest]);
  const texts = [
    ...rendered.cluster.filter((f) => f.path.endsWith(".yaml")).map((f) => f.content),
    ...upstreamManifests(plan)
      .filter((f) => !transformed.has(f))
      .map((f) => upstream(f) ?? ""),
  ];
  return [...new Set(texts.flatMap(imagesIn))].sort();
}
