/**
 * Every doctor check, in the order they are reported (and listed by `kubelab doctor --list`):
 * the cluster file, the nodes, the control plane (etcd, the VIP), then what the API shows (node addresses, Calico, MetalLB,
 * kube-proxy, Linkerd), the probes from this host, the VMs.
 */
import type { Check } from "../types.js";
import { calicoChecks } from "./calico.js";
import { controlPlaneChecks } from "./control-plane.js";
import { fileChecks } from "./file.js";
import { kubeProxyChecks } from "./kube-proxy.js";
import { linkerdChecks } from "./linkerd.js";
import { metallbChecks } from "./metallb.js";
import { nodeApiChecks, nodeChecks } from "./nodes.js";
import { probeChecks } from "./probes.js";
import { virtualboxChecks } from "./virtualbox.js";

export const CHECKS: readonly Check[] = [
  ...fileChecks,
  ...nodeChecks,
  ...controlPlaneChecks,
  ...nodeApiChecks,
  ...calicoChecks,
  ...metallbChecks,
  ...kubeProxyChecks,
  ...linkerdChecks,
  ...probeChecks,
  ...virtualboxChecks,
];
