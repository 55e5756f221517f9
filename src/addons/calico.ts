/**
 * Calico from its pinned manifest (manifests/calico.yaml), with kubelab's calico-node
 * settings rendered in (FELIX_HEALTHHOST, IP_AUTODETECTION_METHOD from the node IP, the pool
 * CIDR = podSubnet; see src/render/calico.ts). Ready when calico-node runs on every node and
 * calico-kube-controllers is available.
 */

import { transformCalico } from "../render/calico.js";
import { parseManifest } from "../render/manifests.js";
import { PINNED } from "../versions.js";
import type { Addon } from "./types.js";

export const calico: Addon = {
  name: "calico",
  enabled: (plan) => plan.addons.cni.plugin === "calico",
  manifests: () => [PINNED.calico.manifest],
  charts: () => [],
  async steps({ plan, sources }) {
    const objects = transformCalico(parseManifest(await sources.manifest(PINNED.calico.manifest)), plan);
    return [{ what: `Calico ${PINNED.calico.version}`, objects }];
  },
};
