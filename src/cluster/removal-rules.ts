/**
 * When kubelab refuses to remove nodes that left the cluster file, before it touches
 * anything: the last control plane, the control plane kubelab bootstraps and reads the
 * cluster from, a removal that would leave etcd without a quorum of healthy voters, and a
 * file in which the nodes that stay would get other addresses.
 */
import { UserError } from "../errors.js";
import { type EtcdHealth, type EtcdMember, membersOf, quorum } from "../phases/etcd.js";
import type { AppliedNode } from "../plan/applied-nodes.js";
import { firstControlPlane } from "../plan/control-plane.js";
import type { Plan } from "../plan/types.js";

/** etcd as a remaining control plane sees it: its members and each endpoint's health. */
export interface EtcdView {
  readonly members: readonly EtcdMember[];
  readonly health: readonly EtcdHealth[];
}

const names = (nodes: readonly { name: string }[]) => nodes.map((n) => n.name).join(", ");

/**
 * refuseByPlan throws when removing `leaving` (recorded nodes the plan no longer has) would
 * take the cluster's last control plane, or the one kubelab runs kubeadm init on and reads
 * the admin kubeconfig from: the plan's first control plane must be the cluster's.
 */
export function refuseByPlan(plan: Plan, record: readonly AppliedNode[], leaving: readonly AppliedNode[]): void {
  const leavingCps = leaving.filter((n) => n.role === "control-plane");
  const staying = record.filter((r) => r.role === "control-plane" && plan.nodes.some((n) => n.name === r.name));
  if (leavingCps.length > 0 && staying.length === 0)
    throw new UserError(
      `removing ${names(leavingCps)} would take the last control plane of cluster ${plan.name} (the file's, ${names(plan.nodes.filter((n) => n.role === "control-plane"))}, never joined it)`,
      {
        hint: `keep at least one of ${names(leavingCps)} in the cluster file; to start over with other nodes, remove the cluster with kubelab down first`,
      },
    );
  const first = record.find((r) => r.role === "control-plane");
  const next = firstControlPlane(plan);
  if (leaving.length > 0 && first && first.name !== next.name)
    throw new UserError(
      `the cluster's first control plane is ${first.name}, but the file's is now ${next.name}: kubelab runs kubeadm init and reads the cluster's admin kubeconfig on the first control plane of the file`,
      {
        hint: `keep ${first.name} in the file as its first control-plane node (other control planes can go); to replace it, remove the cluster with kubelab down and make it anew`,
      },
    );
}

/**
 * refuseMoved throws when a node the cluster has would get another address from the file:
 * addresses are handed out in the file's order, so taking a node out of a `count` shifts the
 * ones after it, unless their addresses are written down (`ip:`).
 */
export function refuseMoved(plan: Plan, record: readonly AppliedNode[]): void {
  const moved = plan.nodes.flatMap((n) => {
    const was = record.find((r) => r.name === n.name);
    return was && was.ip !== n.ip ? [{ name: n.name, was: was.ip, now: n.ip }] : [];
  });
  if (moved.length === 0) return;
  throw new UserError(
    `the cluster file would move ${moved.map((m) => `${m.name} from ${m.was} to ${m.now}`).join(", ")}: a node keeps the address it was made with`,
    {
      hint: `give ${moved.length === 1 ? "it its address" : "them their addresses"} in the file (${moved.map((m) => `ip: ${m.was} on ${m.name}`).join(", ")}): addresses are handed out in the file's order, so a node taken out shifts the ones after it`,
    },
  );
}

/**
 * refuseByQuorum throws when etcd, as `view` shows it, has no quorum of healthy voting
 * members now, or would lose it at any step of removing the members of the control planes
 * in `leaving`, one after the other.
 */
export function refuseByQuorum(view: EtcdView, leaving: readonly AppliedNode[]): void {
  const healthy = (m: EtcdMember) => m.clientURLs.some((u) => view.health.some((h) => h.health && h.endpoint === u));
  let voters = view.members.filter((m) => !m.isLearner);
  const check = (after: string | undefined) => {
    const up = voters.filter(healthy).length;
    const need = quorum(voters.length);
    if (up >= need) return;
    const unhealthy = voters.filter((m) => !healthy(m)).map((m) => m.name || m.id);
    throw new UserError(
      `${after ? `removing ${after} would leave` : "etcd has"} ${up} healthy of ${voters.length} voting etcd member${voters.length === 1 ? "" : "s"}${after ? "" : " now"}, below its quorum of ${need}${unhealthy.length > 0 ? ` (unhealthy: ${unhealthy.join(", ")})` : ""}`,
      {
        hint: "bring the unhealthy members back first (kubelab doctor says why they fail), or remove fewer control planes at once; nothing was removed",
      },
    );
  };
  check(undefined);
  for (const node of leaving.filter((n) => n.role === "control-plane")) {
    const ids = new Set(membersOf(voters, { name: node.name, ip: node.ip }).map((m) => m.id));
    if (ids.size === 0) continue;
    voters = voters.filter((m) => !ids.has(m.id));
    check(node.name);
  }
}
