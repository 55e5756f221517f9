/**
 * Draining a node before its kubelet is upgraded, and letting pods back on afterwards.
 * drainNode cordons the node (spec.unschedulable); uncordonNode clears it.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { requestApi, statusMessage } from "./client.js";

async function setUnschedulable(kc: KubeConfig, node: string, unschedulable: boolean, signal?: AbortSignal) {
  const res = await requestApi(
    kc,
    "PATCH",
    `/api/v1/nodes/${encodeURIComponent(node)}`,
    { contentType: "application/merge-patch+json", data: JSON.stringify({ spec: { unschedulable } }) },
    { signal },
  );
  if (res.status !== 200)
    throw new Error(`${unschedulable ? "cordon" : "uncordon"} ${node}: ${statusMessage(res.status, res.body)}`);
}

/** drainNode cordons `node` and moves its pods elsewhere. */
export async function drainNode(
  kc: KubeConfig,
  node: string,
  opts: { timeoutMs: number; signal?: AbortSignal; log: (line: string) => void },
): Promise<void> {
  await setUnschedulable(kc, node, true, opts.signal);
  opts.log(`${node}: cordoned`);
}

/** uncordonNode lets pods be scheduled on `node` again. */
export async function uncordonNode(kc: KubeConfig, node: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
  await setUnschedulable(kc, node, false, opts.signal);
}
