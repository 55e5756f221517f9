/**
 * kubeadm's own images for the plan's Kubernetes release: what offline bundles carry, what
 * baked boxes hold, and (the static pods among them) what only control planes import.
 */
import type { Plan } from "./types.js";

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
