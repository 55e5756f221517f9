/**
 * Every container image a cluster needs: kubeadm's control plane (at the pinned Kubernetes
 * release) and the images of the objects the addons apply, as rendered for the plan.
 */
import type { Plan } from "../plan/types.js";
import type { KubeObject } from "../render/types.js";

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

const CONTAINER_LISTS = new Set(["containers", "initContainers", "ephemeralContainers"]);

/**
 * imagesOf lists, sorted and once each, the container images of every pod template in the
 * objects (containers, init containers and ephemeral containers, wherever they are nested).
 */
export function imagesOf(objects: readonly KubeObject[]): string[] {
  const found = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      for (const [k, child] of Object.entries(v)) {
        if (CONTAINER_LISTS.has(k) && Array.isArray(child)) {
          for (const c of child) if (c && typeof c.image === "string") found.add(c.image);
        }
        walk(child);
      }
    }
  };
  walk(objects);
  return [...found].sort();
}
