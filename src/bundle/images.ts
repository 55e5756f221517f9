/**
 * The container images named in Kubernetes objects: `bundle create` reads them from the
 * addons as rendered for the plan, and adds kubeadm's own (plan/kubeadm-images.ts).
 */
import type { KubeObject } from "../render/types.js";

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
