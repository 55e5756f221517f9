/**
 * Draining a node as `kubectl drain` does: cordon it, then evict its pods through the
 * Eviction API, so PodDisruptionBudgets are respected (an eviction a budget refuses, 429, is
 * asked again until the deadline). DaemonSet pods stay (their controller would put them back
 * at once, and they leave with the node) and so do mirror pods (the kubelet's static pods:
 * the API cannot evict them). At the deadline the error names every pod still there and why.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { KubeConfig, V1Pod } from "@kubernetes/client-node";
import { isTransient, UserError } from "../errors.js";
import { requestApi, requestRaw, statusMessage } from "./client.js";

/** The annotation the kubelet puts on a static pod's mirror in the API. */
const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";

/** What a drain does with one pod on the node. */
export type PodDrain = "evict" | "skip-daemonset" | "skip-mirror";

/** podDrain decides what a drain does with `pod`. */
export function podDrain(pod: V1Pod): PodDrain {
  if (pod.metadata?.annotations?.[MIRROR_ANNOTATION] !== undefined) return "skip-mirror";
  if (pod.metadata?.ownerReferences?.some((o) => o.controller === true && o.kind === "DaemonSet"))
    return "skip-daemonset";
  return "evict";
}

const podKey = (p: V1Pod) => `${p.metadata?.namespace ?? "default"}/${p.metadata?.name ?? ""}`;
const nodePath = (node: string) => `/api/v1/nodes/${encodeURIComponent(node)}`;

/** setUnschedulable patches the Node's spec.unschedulable; false when there is no such Node. */
async function setUnschedulable(kc: KubeConfig, node: string, on: boolean, signal?: AbortSignal): Promise<boolean> {
  const data = JSON.stringify({ spec: { unschedulable: on ? true : null } });
  const r = await requestApi(
    kc,
    "PATCH",
    nodePath(node),
    { contentType: "application/merge-patch+json", data },
    { signal },
  );
  if (r.status === 404) return false;
  if (r.status >= 300) throw new Error(`${on ? "cordon" : "uncordon"} ${node}: ${statusMessage(r.status, r.body)}`);
  return true;
}

/** podsOn lists the pods bound to `node`. */
async function podsOn(kc: KubeConfig, node: string, signal?: AbortSignal): Promise<V1Pod[]> {
  const selector = encodeURIComponent(`spec.nodeName=${node}`);
  const r = await requestApi(kc, "GET", `/api/v1/pods?fieldSelector=${selector}`, undefined, { signal });
  if (r.status !== 200) throw new Error(`list the pods on ${node}: ${statusMessage(r.status, r.body)}`);
  return (JSON.parse(r.body) as { items?: V1Pod[] }).items ?? [];
}

/**
 * evict asks the Eviction API to evict `pod`: undefined when it was evicted or is gone
 * already, else why not (a PodDisruptionBudget, a server that did not answer) to ask again.
 */
async function evict(kc: KubeConfig, pod: V1Pod): Promise<string | undefined> {
  const ns = pod.metadata?.namespace ?? "default";
  const name = pod.metadata?.name ?? "";
  const data = JSON.stringify({ apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: ns } });
  let r: { status: number; body: string };
  try {
    // Not requestApi: it would ask again on a 429 itself, and that 429 is what a budget answers.
    r = await requestRaw(
      kc,
      "POST",
      `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}/eviction`,
      { contentType: "application/json", data },
    );
  } catch (e) {
    if (isTransient(e)) return `the API server did not answer (${(e as Error).message})`;
    throw e;
  }
  if (r.status < 300 || r.status === 404) return undefined;
  // 429: a budget allows no disruption now; 500 with a budget message: more than one budget selects the pod.
  if (r.status === 429 || (r.status === 500 && /disruption budget/i.test(r.body)))
    return `eviction refused: ${statusMessage(r.status, r.body)}`;
  if (r.status === 503 || r.status === 504) return `the API server is busy (${statusMessage(r.status, r.body)})`;
  throw new Error(`evict ${ns}/${name}: ${statusMessage(r.status, r.body)}`);
}

/**
 * drainNode cordons `node` and evicts its pods (not DaemonSet or mirror pods) through the
 * Eviction API, asking again while a PodDisruptionBudget refuses, until none is left or
 * `timeoutMs` has passed; then it fails naming each pod still there and why. A node the API
 * does not know has nothing to drain.
 */
export async function drainNode(
  kc: KubeConfig,
  node: string,
  opts: { timeoutMs: number; signal?: AbortSignal; log: (line: string) => void },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  if (!(await setUnschedulable(kc, node, true, opts.signal))) {
    opts.log(`${node}: no Node object in the cluster: nothing to drain`);
    return;
  }
  opts.log(`${node}: cordoned`);
  const evicted = new Set<string>();
  const why = new Map<string, string>();
  for (let delay = 250; ; delay = Math.min(delay * 2, 2_000)) {
    opts.signal?.throwIfAborted();
    const left = (await podsOn(kc, node, opts.signal)).filter((p) => podDrain(p) === "evict");
    if (left.length === 0) {
      opts.log(`${node}: drained`);
      return;
    }
    why.clear();
    for (const pod of left) {
      const key = podKey(pod);
      if (pod.metadata?.deletionTimestamp) {
        why.set(key, "evicted, still terminating");
        continue;
      }
      const refused = await evict(kc, pod);
      if (refused === undefined) {
        if (!evicted.has(key)) opts.log(`${node}: evicted ${key}`);
        evicted.add(key);
        why.set(key, "evicted, still terminating");
      } else {
        if (why.get(key) !== refused) opts.log(`${node}: ${key}: ${refused}; asking again`);
        why.set(key, refused);
      }
    }
    if (Date.now() >= deadline) {
      const pods = [...why].map(([k, w]) => `${k} (${w})`);
      throw new UserError(
        `draining ${node} gave up after ${opts.timeoutMs / 1000} s: ${pods.length} pod${pods.length === 1 ? "" : "s"} still on it: ${pods.join(", ")}`,
        {
          exitCode: 1,
          hint: `the node stays cordoned; let the pods go (relax their PodDisruptionBudget, scale up elsewhere or delete them: kubectl -n NAMESPACE delete pod NAME), then run kubelab up --prune again`,
        },
      );
    }
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())), undefined, { signal: opts.signal });
  }
}

/** uncordonNode makes `node` schedulable again; a node the API does not know is an error. */
export async function uncordonNode(kc: KubeConfig, node: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
  if (!(await setUnschedulable(kc, node, false, opts.signal))) throw new Error(`uncordon ${node}: no such Node`);
}
