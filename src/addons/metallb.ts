/**
 * MetalLB in L2 mode from its pinned native manifest (not FRR mode), then kubelab's
 * `IPAddressPool` + `L2Advertisement` (src/render/metallb.ts), once the controller, which
 * also serves the validating webhook for those objects, is available.
 *
 * With kube-proxy in IPVS mode every node would answer ARP for every LoadBalancer address
 * unless strictARP is on: kubelab's kubeadm config sets it, and a cluster made without it
 * gets it patched into the kube-proxy ConfigMap (with the kube-proxy pods restarted) before
 * MetalLB is applied.
 */
import { AppsV1Api, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { parse, stringify } from "yaml";
import { parseManifest } from "../render/manifests.js";
import { metallbObjects } from "../render/metallb.js";
import { PINNED } from "../versions.js";
import type { Addon } from "./types.js";

/**
 * ensureStrictArp turns on `ipvs.strictARP` in kubeadm's kube-proxy ConfigMap when kube-proxy
 * runs in IPVS mode without it, and restarts kube-proxy so it takes effect. Returns what changed.
 */
export async function ensureStrictArp(kc: KubeConfig): Promise<string[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const cm = await core.readNamespacedConfigMap({ name: "kube-proxy", namespace: "kube-system" });
  const text = cm.data?.["config.conf"];
  if (!text) return [];
  const config = parse(text) as { mode?: string; ipvs?: { strictARP?: boolean } };
  if (config.mode !== "ipvs" || config.ipvs?.strictARP === true) return [];
  config.ipvs = { ...config.ipvs, strictARP: true };
  // replace carries the resourceVersion just read: a concurrent change makes this fail, not vanish.
  await core.replaceNamespacedConfigMap({
    name: "kube-proxy",
    namespace: "kube-system",
    body: { ...cm, data: { ...cm.data, "config.conf": stringify(config) } },
  });
  const apps = kc.makeApiClient(AppsV1Api);
  const ds = await apps.readNamespacedDaemonSet({ name: "kube-proxy", namespace: "kube-system" });
  const template = ds.spec?.template;
  if (template) {
    template.metadata = {
      ...template.metadata,
      annotations: { ...template.metadata?.annotations, "kubectl.kubernetes.io/restartedAt": new Date().toISOString() },
    };
    await apps.replaceNamespacedDaemonSet({ name: "kube-proxy", namespace: "kube-system", body: ds });
  }
  return ["ConfigMap kube-system/kube-proxy: ipvs.strictARP on (kube-proxy restarted)"];
}

export const metallb: Addon = {
  name: "metallb",
  enabled: (plan) => plan.addons.metallb.enabled,
  manifests: () => [PINNED.metallb.manifest],
  charts: () => [],
  async steps({ plan, sources }) {
    const manifest = parseManifest(await sources.manifest(PINNED.metallb.manifest));
    return [
      {
        what: `MetalLB ${PINNED.metallb.version}`,
        objects: manifest,
        before: plan.kubernetes.proxyMode === "ipvs" ? ensureStrictArp : undefined,
      },
      { what: "MetalLB address pool and L2 advertisement", objects: metallbObjects(plan), webhook: true },
    ];
  },
};
