/**
 * What every baked node (a Vagrant box, an nspawn node image) has in common, whatever the
 * provider: the versions that decide what it holds, and the plan of the one machine that is
 * prepared to make it. Pure.
 */
import { type Cidr, containsAddress, formatIpv4, parseCidr, parseIpv4, parseRange } from "../net/ipv4.js";
import type { Plan, PlanNetwork, PlanNode } from "./types.js";

/**
 * bakeVersions are the cluster's versions that decide what a baked node holds: Kubernetes
 * and the images kubeadm runs, containerd and its cgroup driver, and each addon's version
 * (its images are baked in). Node counts, names, sizes and addresses are not among them: one
 * baked node serves every cluster with the same versions. A provider adds its base (box,
 * hypervisor, release) and its recipe.
 */
export function bakeVersions(plan: Plan) {
  const a = plan.addons;
  return {
    kubernetes: plan.kubernetes.version,
    images: plan.kubernetes.images,
    containerd: [plan.containerd.line, plan.containerd.version, plan.containerd.cgroupDriver],
    cni: a.cni.plugin === "calico" ? a.cni.version : "none",
    metallb: a.metallb.enabled ? a.metallb.version : "none",
    ui: a.ui.kind === "none" ? "none" : `${a.ui.kind}-${a.ui.version}`,
    linkerd: a.linkerd.enabled ? `${a.linkerd.version}${a.linkerd.viz ? "+viz" : ""}` : "none",
  };
}

/** networkOf is the lab network of a CIDR (`a.b.c.d/n`): the host at its first address. */
export function networkOf(cidr: string): PlanNetwork {
  const block: Cidr | undefined = parseCidr(cidr);
  if (!block || block.last - block.first < 3) throw new Error(`${cidr} is not a network with room for a node`);
  return {
    cidr: block.text,
    block,
    prefix: block.prefix,
    networkAddress: formatIpv4(block.first),
    broadcast: formatIpv4(block.last),
    gateway: formatIpv4(block.first + 1),
    firstAddress: formatIpv4(block.first + 2),
  };
}

/**
 * bakePlan is the plan of the baking machine: one control-plane node named `bake` (so every
 * image is kept), with the cluster's first node's size, in a cluster `<name>-bake`. On the
 * cluster's own network (a Vagrant lab's host-only network is shared), it takes the highest
 * address that no node, no pool, no VIP and no DHCP range uses; on a `network` of its own
 * (nspawn gives the baking node a bridge of its own, and the lab's network may be in use by
 * the running lab), the first address after the host's. No control-plane VIP either way: a
 * baked node that took it, or kept keepalived's configuration, would bring it to every node
 * made from it, workers too.
 */
export function bakePlan(plan: Plan, network?: PlanNetwork): Plan {
  const first = plan.nodes[0];
  if (!first) throw new Error("the plan has no nodes");
  const { vip: _vip, ...rest } = plan;
  const node = (ip: string): PlanNode => ({ ...first, name: "bake", role: "control-plane", ip });
  const baking = { ...rest, name: `${plan.name}-bake`, context: `${plan.context}-bake` };
  if (network) return { ...baking, network, nodes: [node(network.firstAddress)] };
  const cidr = plan.network.block;
  const taken = [plan.network.gateway, ...plan.nodes.map((n) => n.ip), ...(plan.vip ? [plan.vip.address] : [])].map(
    (ip) => parseIpv4(ip),
  );
  // Nor a pool's, nor the hypervisor's DHCP range (VirtualBox hands out .100-.254 by default).
  const ranges = [...(plan.addons.metallb.enabled ? plan.addons.metallb.pools : []), plan.network.dhcpRange ?? ""]
    .filter(Boolean)
    .map((r) => parseRange(r));
  for (let i = cidr.last - 1; i > cidr.first; i--)
    if (!taken.includes(i) && !ranges.some((r) => r && containsAddress(r, i)))
      return { ...baking, nodes: [node(formatIpv4(i))] };
  throw new Error(`no free address for the baking machine in ${plan.network.cidr}`);
}
