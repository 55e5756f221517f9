/**
 * Upgrading a cluster in place: which version changes kubeadm allows (one minor at a time,
 * never down), and the order nodes are upgraded in. Pure: versions and the plan in, verdicts
 * and orders out.
 */
import { KUBERNETES_MINORS } from "../versions.js";
import { firstControlPlane } from "./control-plane.js";
import type { Plan, PlanNode } from "./types.js";

/** A Kubernetes release as numbers. */
export interface Version {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/**
 * parseVersion reads `v1.37.2`, `1.37.2` or a Debian package version such as `1.37.2-1.1`
 * (the revision is dropped); undefined for anything else.
 */
export function parseVersion(text: string): Version | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-.*)?$/.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

/** release is the `vX.Y.Z` form of a version or package version (`1.37.2-1.1` -> `v1.37.2`); undefined if it is neither. */
export function release(text: string | undefined): string | undefined {
  const v = text === undefined ? undefined : parseVersion(text);
  return v ? `v${v.major}.${v.minor}.${v.patch}` : undefined;
}

/** compareVersions orders two versions (negative: a is older). */
export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

const minorOf = (v: Version) => `${v.major}.${v.minor}`;

/** A version change kubeadm refuses: what and the way that is allowed. */
export interface PathRefusal {
  readonly message: string;
  readonly fix: string;
}

/**
 * upgradePath says whether a cluster at `from` may be taken to `to` in place, as kubeadm
 * allows it: the same release, a newer patch, or the next minor. A downgrade or a skipped
 * minor is refused with the allowed path.
 */
export function upgradePath(from: string, to: string): PathRefusal | undefined {
  const f = parseVersion(from);
  const t = parseVersion(to);
  if (!f || !t) return { message: `cannot compare Kubernetes ${from} with ${to}`, fix: "use a pinned release" };
  const order = compareVersions(f, t);
  if (order === 0) return undefined;
  if (order > 0)
    return {
      message: `${from} -> ${to} is a downgrade, which kubeadm does not do`,
      fix: `set kubernetes.version back to ${from} (or a newer pinned release); to run ${to}, make the cluster again: kubelab down, then kubelab up`,
    };
  if (f.major !== t.major || t.minor - f.minor > 1) {
    const next = `${f.major}.${f.minor + 1}`;
    const pinned = (KUBERNETES_MINORS as Record<string, { version: string } | undefined>)[next]?.version;
    return {
      message: `${minorOf(f)} -> ${minorOf(t)}: upgrade to ${next} first (kubeadm upgrades one minor at a time)`,
      fix: pinned
        ? `set kubernetes.version: ${pinned} and run kubelab up, then set ${to} and run kubelab up again`
        : `kubelab pins no ${next} release: upgrade to ${next} by hand with kubeadm, or make the cluster again at ${to} (kubelab down, kubelab up)`,
    };
  }
  return undefined;
}

/** The order of an upgrade: whose control plane first, then whose kubelet, in batches. */
export interface UpgradeOrder {
  /** Runs `kubeadm upgrade apply`. */
  readonly first: PlanNode;
  /** The other control planes, one at a time: `kubeadm upgrade node`. */
  readonly controlPlanes: readonly PlanNode[];
  /**
   * Kubelets: each control plane alone, then the workers in batches of `maxUnavailable`
   * (drained, upgraded and back at once).
   */
  readonly kubelets: readonly (readonly PlanNode[])[];
}

/** upgradeOrder is the order kubeadm's procedure upgrades the plan's nodes in. */
export function upgradeOrder(plan: Plan, maxUnavailable = 1): UpgradeOrder {
  const first = firstControlPlane(plan);
  const controlPlanes = plan.nodes.filter((n) => n.role === "control-plane");
  const workers = plan.nodes.filter((n) => n.role === "worker");
  const size = Math.max(1, Math.floor(maxUnavailable));
  const batches: PlanNode[][] = [];
  for (let i = 0; i < workers.length; i += size) batches.push(workers.slice(i, i + size));
  return {
    first,
    controlPlanes: controlPlanes.filter((n) => n !== first),
    kubelets: [...controlPlanes.map((n) => [n]), ...batches],
  };
}

/**
 * describeUpgradeOrder is the order in words, one line a step, for `kubelab plan`: what `up`
 * does when the cluster runs an older release than the plan's.
 */
export function describeUpgradeOrder(plan: Plan, maxUnavailable = 1): string[] {
  const o = upgradeOrder(plan, maxUnavailable);
  const v = plan.kubernetes.version;
  return [
    `${o.first.name}: kubeadm package, kubeadm upgrade plan, kubeadm upgrade apply ${v}`,
    ...o.controlPlanes.map((n) => `${n.name}: kubeadm package, kubeadm upgrade node`),
    ...o.kubelets.map((batch) => {
      const names = batch.map((n) => n.name).join(", ");
      const kubeadm = batch[0]?.role === "worker" ? "kubeadm package, kubeadm upgrade node, " : "";
      // A one-node cluster is not drained: its pods would have nowhere to go.
      return plan.nodes.length > 1
        ? `${names}: ${kubeadm}drain, kubelet and kubectl packages, restart kubelet, wait Ready, uncordon`
        : `${names}: ${kubeadm}kubelet and kubectl packages, restart kubelet, wait Ready (one node: not drained)`;
    }),
  ];
}
