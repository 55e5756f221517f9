// Type-level tests for the public API: `tsc --noEmit` fails if defineCluster stops
// catching these mistakes or stops accepting a minimal file.
import { type ClusterInput, defineCluster } from "../../src/index.js";

export const minimal = defineCluster({
  apiVersion: "kubelab.dev/v1alpha1",
  kind: "Cluster",
  metadata: { name: "lab" },
  nodes: [{ name: "master-1", role: "control-plane" }],
});

export const full: ClusterInput = {
  apiVersion: "kubelab.dev/v1alpha1",
  kind: "Cluster",
  metadata: { name: "lab" },
  provider: { name: "ssh", hosts: [{ node: "master-1", address: "10.1.1.1", jump: { address: "bastion" } }] },
  nodes: [{ name: "master-1", role: "control-plane", memory: "4Gi" }],
  kubernetes: { proxyMode: "nftables" },
  addons: { ui: "dashboard", cni: { autodetection: "cidr" }, linkerd: { enabled: false } },
};

defineCluster({
  apiVersion: "kubelab.dev/v1alpha1",
  kind: "Cluster",
  metadata: { name: "lab" },
  // @ts-expect-error: "master" is not a role
  nodes: [{ name: "master-1", role: "master" }],
});

defineCluster({
  apiVersion: "kubelab.dev/v1alpha1",
  kind: "Cluster",
  metadata: { name: "lab" },
  nodes: [{ name: "master-1", role: "control-plane" }],
  // @ts-expect-error: unknown provider
  provider: { name: "docker" },
});
