/**
 * What did not come back after `kubelab start`: each node that is not Ready with why (its
 * Ready condition's message, then the last lines its kubelet logged) and each pod that is
 * not Ready with why (kube/ready.ts podLine). Pure except for reading the kubelet's journal.
 */
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { podLine } from "../kube/ready.js";
import { kubeletTail } from "../phases/kubeadm.js";
import type { Plan } from "../plan/types.js";
import type { Remote } from "../remote/types.js";

/** A node that did not come back, and why. */
export interface NodeTrouble {
  readonly node: string;
  readonly why: string;
  /** The last lines its kubelet logged (or why they could not be read). */
  readonly kubelet?: string;
}

/** notReadyNodes returns the plan's nodes that are not registered or not Ready, with the Ready condition's reason. */
export function notReadyNodes(plan: Plan, nodes: readonly V1Node[]): NodeTrouble[] {
  return plan.nodes.flatMap((n) => {
    const node = nodes.find((o) => o.metadata?.name === n.name);
    if (!node) return [{ node: n.name, why: "not registered with the API server" }];
    const ready = node.status?.conditions?.find((c) => c.type === "Ready");
    if (ready?.status === "True") return [];
    const because = [ready?.reason, ready?.message].filter(Boolean).join(": ");
    return [{ node: n.name, why: `Ready is ${ready?.status ?? "Unknown"}${because ? ` (${because})` : ""}` }];
  });
}

/** notReadyPods is one line per pod that should run and is not Ready: `namespace/pod on node: phase; why`. */
export function notReadyPods(pods: readonly V1Pod[]): string[] {
  return pods
    .filter((p) => p.status?.phase !== "Succeeded")
    .filter((p) => p.status?.conditions?.find((c) => c.type === "Ready")?.status !== "True")
    .map((p) => `${p.metadata?.namespace ?? "default"}/${podLine(p).replace(/^pod /, "")}`)
    .sort();
}

/** kubeletTails adds each node's kubelet lines, read over its connection. */
export async function kubeletTails(
  nodes: readonly NodeTrouble[],
  hosts: ReadonlyMap<string, Remote>,
  lines = 15,
): Promise<NodeTrouble[]> {
  return Promise.all(
    nodes.map(async (n) => {
      const remote = hosts.get(n.node);
      if (!remote) return { ...n, kubelet: "(no connection to the node)" };
      const kubelet = await kubeletTail(remote, lines).catch((e: Error) => `(cannot read: ${e.message})`);
      return { ...n, kubelet };
    }),
  );
}

/** comeBackReport is the message `start` fails with: what it waited for, then each node and pod that is not back. */
export function comeBackReport(r: {
  readonly waited: string;
  readonly nodes: readonly NodeTrouble[];
  readonly pods: readonly string[];
}): string {
  const lines = [`the cluster did not come back: ${r.waited.trimEnd()}`];
  for (const n of r.nodes) {
    lines.push(`node ${n.node}: ${n.why}`);
    if (n.kubelet)
      lines.push(`  --- kubelet's last lines on ${n.node}:`, ...n.kubelet.split("\n").map((l) => `  ${l}`));
  }
  if (r.pods.length > 0) {
    lines.push(`pods not Ready (${r.pods.length}):`);
    lines.push(...r.pods.slice(0, 20).map((p) => `  ${p}`));
    if (r.pods.length > 20) lines.push(`  ... and ${r.pods.length - 20} more (kubectl get pods -A)`);
  }
  if (r.nodes.length === 0 && r.pods.length === 0)
    lines.push("every node and pod is Ready now: run kubelab start again");
  return lines.join("\n");
}
