import { forEachHost } from "../remote/hosts.js";
import { HA_PACKAGES, renderHaFiles } from "../render/ha.js";
import { PLAIN_NODE } from "../render/node-environment.js";
import { renderNodeFiles } from "../render/node-files.js";
import { type FactQuery, gatherFacts } from "./facts.js";
import { KUBELET_CONFIG } from "./install-kubernetes.js";
import type { Phase, PhaseContext } from "./phase.js";

/** Sysctls kubelab sets and kubeadm's preflight checks. */
export const SYSCTLS = [
  "net.bridge.bridge-nf-call-iptables",
  "net.bridge.bridge-nf-call-ip6tables",
  "net.ipv4.ip_forward",
];
/** Packages whose installed versions decide what to install. */
export const PACKAGES = ["kubeadm", "kubelet", "kubectl", "containerd", "containerd.io"];

/** factQuery lists what to ask a node: every file kubelab manages there, and the rest. */
export function factQuery(ctx: PhaseContext, node: string): FactQuery {
  // Which files there are does not depend on the kind of node, only their contents do.
  const files = renderNodeFiles(ctx.plan, node, PLAIN_NODE).map((f) => f.path);
  // The control-plane VIP's files, packages and services (control planes only).
  const ha = renderHaFiles(ctx.plan, node, "any").map((f) => f.path);
  const haNode = ha.length > 0;
  return {
    files: [
      ...files,
      ...ha,
      "/etc/fstab",
      "/etc/apt/sources.list.d/kubernetes.list",
      "/etc/systemd/system/containerd.service",
      // Written by kubeadm init or join: the node is part of a cluster (upgrades start from it).
      KUBELET_CONFIG,
    ],
    sysctls: SYSCTLS,
    packages: haNode ? [...PACKAGES, ...HA_PACKAGES] : PACKAGES,
    units: ["containerd", "kubelet", ...(haNode ? HA_PACKAGES : [])],
  };
}

/** refreshFacts gathers one node's facts again (after changing it). */
export async function refreshFacts(ctx: PhaseContext, node: string): Promise<void> {
  const remote = ctx.hosts.get(node);
  if (remote) ctx.facts.set(node, await gatherFacts(remote, factQuery(ctx, node), ctx.clock));
}

/** Gather facts: one round trip per node, before anything is changed. */
export const gatherFactsPhase: Phase = {
  title: "Gather facts",
  async run(ctx) {
    await forEachHost(
      ctx.plan.nodes,
      (n) => n.name,
      (n) => refreshFacts(ctx, n.name),
      { concurrency: ctx.concurrency, signal: ctx.signal },
    );
  },
};
