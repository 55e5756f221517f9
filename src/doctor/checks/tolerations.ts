/**
 * Whether a DaemonSet's pods may run on a node: its taints against the pods' tolerations, and
 * its labels against the pods' nodeSelector, the way the DaemonSet controller decides (only
 * NoSchedule and NoExecute taints keep a daemon pod off a node; PreferNoSchedule does not).
 */
import { at, objects, str, stringMap } from "../object.js";

/** A taint or a toleration, as the API has it. */
type Entry = Record<string, unknown>;

/**
 * The tolerations the DaemonSet controller adds to every daemon pod, on top of the template's
 * (AddOrUpdateDaemonPodTolerations in kubernetes' pkg/controller/daemon/util). The
 * network-unavailable one is added to host-network pods only. `not-ready:NoSchedule` is not
 * among them: a daemon pod tolerates a NotReady node only when its template says so.
 */
const DAEMON_TOLERATIONS: readonly Entry[] = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];
const HOST_NETWORK_TOLERATION: Entry = {
  key: "node.kubernetes.io/network-unavailable",
  operator: "Exists",
  effect: "NoSchedule",
};

/** taintText spells a taint as kubectl does: `key=value:Effect`. */
export const taintText = (t: Entry): string => {
  const value = str(t, "value");
  return `${str(t, "key") ?? ""}${value ? `=${value}` : ""}:${str(t, "effect") ?? ""}`;
};

/** tolerationText spells a toleration as `kubectl describe` does: `key=value:Effect`, `key:Effect op=Exists`. */
export const tolerationText = (t: Entry): string => {
  const key = str(t, "key") ?? "";
  const effect = str(t, "effect");
  const exists = str(t, "operator") === "Exists";
  const value = exists ? "" : `=${str(t, "value") ?? ""}`;
  return `${key}${value}${effect ? `:${effect}` : ""}${exists ? " op=Exists" : ""}`;
};

/** tolerates: an empty effect matches every effect; `Exists` with no key matches every taint. */
function tolerates(toleration: Entry, taint: Entry): boolean {
  const effect = str(toleration, "effect");
  if (effect && effect !== str(taint, "effect")) return false;
  const key = str(toleration, "key") ?? "";
  if (str(toleration, "operator") === "Exists") return key === "" || key === str(taint, "key");
  return key === str(taint, "key") && (str(toleration, "value") ?? "") === (str(taint, "value") ?? "");
}

/** What keeps a DaemonSet's pods off a node, as evidence lines (empty: nothing visible does). */
export interface Placement {
  /** The node's taints, and the template's tolerations, quoted. */
  readonly taints: string;
  readonly tolerations: string;
  /** Taints that none of the daemon pod's tolerations matches. */
  readonly untolerated: readonly string[];
  /** nodeSelector entries the node's labels do not satisfy. */
  readonly unmatched: readonly string[];
}

/** placement compares a node with a DaemonSet's pod template. */
export function placement(node: unknown, daemonSet: unknown): Placement {
  const template = ["spec", "template", "spec"] as const;
  const own = objects(daemonSet, ...template, "tolerations");
  const hostNetwork = at(daemonSet, ...template, "hostNetwork") === true;
  const all = [...own, ...DAEMON_TOLERATIONS, ...(hostNetwork ? [HOST_NETWORK_TOLERATION] : [])];
  const taints = objects(node, "spec", "taints");
  const blocking = taints.filter((t) => t.effect === "NoSchedule" || t.effect === "NoExecute");
  const labels = stringMap(node, "metadata", "labels");
  const selector = stringMap(daemonSet, ...template, "nodeSelector");
  return {
    taints: taints.length > 0 ? taints.map(taintText).join(", ") : "none",
    tolerations: own.length > 0 ? own.map(tolerationText).join(", ") : "none",
    untolerated: blocking.filter((t) => !all.some((tol) => tolerates(tol, t))).map(taintText),
    unmatched: Object.entries(selector)
      .filter(([k, v]) => labels[k] !== v)
      .map(([k, v]) => `${k}=${v}`),
  };
}
