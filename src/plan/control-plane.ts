/** Which node bootstraps the cluster: rendering, node preparation and the kubeconfig all agree on it. */
import type { Plan, PlanNode } from "./types.js";

/** firstControlPlane is the node `kubeadm init` runs on. */
export function firstControlPlane(plan: Plan): PlanNode {
  const cp = plan.nodes.find((n) => n.role === "control-plane");
  if (!cp) throw new Error(`kubeadm: cluster ${plan.name} has no control-plane node`);
  return cp;
}
