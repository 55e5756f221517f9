/**
 * Waiting for workloads (Deployments, DaemonSets, StatefulSets) to be ready, the way
 * `kubectl rollout status` judges them, and, when they are not in time, saying why: each
 * unready workload's pods with their phase, the reason their containers wait or last ended,
 * and the latest events about them. Never "timed out" alone.
 */
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type KubernetesObject,
  type V1DaemonSet,
  type V1Deployment,
  type V1Pod,
  type V1StatefulSet,
} from "@kubernetes/client-node";
import { WaitTimeout } from "../errors.js";
import { describeObject } from "./apply.js";
import { apiErrorMessage, type WaitOptions } from "./client.js";
import { type ListWatchOptions, listWatch } from "./watch.js";

const WORKLOADS = new Set(["Deployment", "DaemonSet", "StatefulSet"]);

/** isWorkload: the kinds {@link waitWorkloads} waits for. */
export const isWorkload = (o: KubernetesObject) => WORKLOADS.has(o.kind ?? "") && o.apiVersion === "apps/v1";

interface Status {
  ready: boolean;
  summary: string;
  selector?: Record<string, string>;
}

/** The collection each workload kind is listed and watched as. */
const RESOURCES: Record<string, string> = {
  Deployment: "deployments",
  DaemonSet: "daemonsets",
  StatefulSet: "statefulsets",
};

/** collectionPath is the API path of the collection a workload is listed and watched in. */
const collectionPath = (o: KubernetesObject) =>
  `/apis/apps/v1/namespaces/${encodeURIComponent(o.metadata?.namespace ?? "default")}/${RESOURCES[o.kind ?? ""]}`;

/** judge says whether a workload of `kind`, as the API server has it now, is ready. */
function judge(kind: string | undefined, live: KubernetesObject): Status {
  if (kind === "Deployment") {
    const d = live as V1Deployment;
    const want = d.spec?.replicas ?? 1;
    const s = d.status ?? {};
    const current = (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
    const ready = current && (s.updatedReplicas ?? 0) >= want && (s.availableReplicas ?? 0) >= want;
    return {
      ready,
      summary: `${s.availableReplicas ?? 0} of ${want} available`,
      selector: d.spec?.selector?.matchLabels,
    };
  }
  if (kind === "DaemonSet") {
    const d = live as V1DaemonSet;
    const s = d.status;
    const want = s?.desiredNumberScheduled ?? 0;
    const current = (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
    const ready = current && want > 0 && s?.numberReady === want && (s?.updatedNumberScheduled ?? 0) >= want;
    return { ready, summary: `${s?.numberReady ?? 0} of ${want} nodes ready`, selector: d.spec?.selector?.matchLabels };
  }
  const st = live as V1StatefulSet;
  const want = st.spec?.replicas ?? 1;
  const ready =
    (st.status?.readyReplicas ?? 0) >= want && (st.status?.observedGeneration ?? 0) >= (st.metadata?.generation ?? 0);
  return {
    ready,
    summary: `${st.status?.readyReplicas ?? 0} of ${want} ready`,
    selector: st.spec?.selector?.matchLabels,
  };
}

/** status reads a workload afresh and judges it. */
async function status(apps: AppsV1Api, o: KubernetesObject): Promise<Status> {
  const name = o.metadata?.name ?? "";
  const namespace = o.metadata?.namespace ?? "default";
  if (o.kind === "Deployment") return judge(o.kind, await apps.readNamespacedDeployment({ name, namespace }));
  if (o.kind === "DaemonSet") return judge(o.kind, await apps.readNamespacedDaemonSet({ name, namespace }));
  return judge(o.kind, await apps.readNamespacedStatefulSet({ name, namespace }));
}

/** podLine: a pod's phase and why its containers are not running, in one line. */
export function podLine(pod: V1Pod): string {
  const reasons = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
    .filter((c) => !c.ready)
    .map((c) => {
      const waiting = c.state?.waiting;
      const ended = c.lastState?.terminated;
      if (waiting) return `${c.name}: ${waiting.reason ?? "waiting"}${waiting.message ? ` (${waiting.message})` : ""}`;
      if (ended) return `${c.name}: last exit ${ended.exitCode} ${ended.reason ?? ""}`.trimEnd();
      return `${c.name}: not ready`;
    });
  const unscheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  const where = pod.spec?.nodeName ? ` on ${pod.spec.nodeName}` : "";
  const parts = [
    `pod ${pod.metadata?.name}${where}: ${pod.status?.phase ?? "Unknown"}`,
    unscheduled && `unschedulable: ${unscheduled.message ?? unscheduled.reason}`,
    ...reasons,
  ].filter(Boolean);
  return parts.join("; ");
}

/** diagnose lists, for an unready workload, its pods and the latest events about them. */
async function diagnose(core: CoreV1Api, o: KubernetesObject, st: Status): Promise<string> {
  const namespace = o.metadata?.namespace ?? "default";
  const head = `${describeObject(o)}: ${st.summary}`;
  if (!st.selector) return head;
  const labelSelector = Object.entries(st.selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const pods = (await core.listNamespacedPod({ namespace, labelSelector })).items;
  if (pods.length === 0) return `${head}; no pods (the controller manager makes them: is it running?)`;
  const events = (await core.listNamespacedEvent({ namespace })).items;
  const lines = pods.slice(0, 5).map((p) => {
    const latest = events
      .filter((e) => e.involvedObject?.kind === "Pod" && e.involvedObject.name === p.metadata?.name)
      .sort((a, b) =>
        String(a.lastTimestamp ?? a.eventTime ?? "").localeCompare(String(b.lastTimestamp ?? b.eventTime ?? "")),
      )
      .slice(-3)
      .map((e) => `      event ${e.reason}: ${e.message}`);
    return [`    ${podLine(p)}`, ...latest].join("\n");
  });
  return [head, ...lines].join("\n");
}

/** Options of {@link waitWorkloads}. */
export interface WaitWorkloadsOptions extends WaitOptions {
  /** What is waited for, in the WaitTimeout's message ("workloads"). */
  readonly what?: string;
  /**
   * The safety re-list: however quiet the watches are, every collection is listed again (and
   * watched afresh) at least this often (10 s), in case a watch stalled without a word.
   * (`intervalMs` plays no part: changes arrive through the watches.)
   */
  readonly recheckMs?: number;
  /**
   * Each list, watch, event and restart of the watches, one line each (see
   * {@link ListWatchOptions.trace}), then how the wait ended: `wait ended: ready` (the
   * watches saw every workload ready), `wait ended: timeout` or `wait ended: aborted`.
   */
  readonly trace?: ListWatchOptions["trace"];
}

/**
 * waitWorkloads waits until every workload among `objects` is ready, following them with
 * watches: per namespace and kind, a list, then a watch from its resourceVersion, listed and
 * watched again when the watch ends, its resourceVersion expires (410 Gone) or the safety
 * re-list is due. At the deadline the WaitTimeout names each unready one with its pods and
 * events.
 */
export async function waitWorkloads(
  kc: KubeConfig,
  objects: readonly KubernetesObject[],
  opts: WaitWorkloadsOptions = {},
): Promise<void> {
  const workloads = objects.filter(isWorkload);
  if (workloads.length === 0) return;
  opts.signal?.throwIfAborted();
  const timeoutMs = opts.timeoutMs ?? 300_000;

  // Per collection (namespace and kind): the workloads' objects as last listed or watched.
  const collections = new Map<string, { path: string; live: Map<string, KubernetesObject | undefined> }>();
  const liveOf = (o: KubernetesObject) => collections.get(collectionPath(o))?.live.get(o.metadata?.name ?? "");
  for (const o of workloads) {
    const path = collectionPath(o);
    const c = collections.get(path) ?? { path, live: new Map() };
    c.live.set(o.metadata?.name ?? "", undefined);
    collections.set(path, c);
  }

  let settle: (outcome: "ready" | "timeout" | "aborted") => void = () => {};
  const outcome = new Promise<"ready" | "timeout" | "aborted">((resolve) => {
    settle = resolve;
  });
  const check = () => {
    if (
      workloads.every((o) => {
        const live = liveOf(o);
        return live !== undefined && judge(o.kind, live).ready;
      })
    )
      settle("ready");
  };
  const deadline = setTimeout(() => settle("timeout"), timeoutMs);
  const aborted = () => settle("aborted");
  opts.signal?.addEventListener("abort", aborted, { once: true });
  const stop = new AbortController();
  const following = [...collections.values()].map(({ path, live }) =>
    listWatch(
      kc,
      path,
      {
        onList(items) {
          for (const name of live.keys())
            live.set(
              name,
              items.find((i) => i.metadata?.name === name),
            );
          check();
        },
        onEvent(type, object) {
          const name = object.metadata?.name ?? "";
          if (!live.has(name)) return;
          live.set(name, type === "DELETED" ? undefined : object);
          check();
        },
      },
      { signal: stop.signal, resyncMs: opts.recheckMs ?? 10_000, trace: opts.trace },
    ),
  );
  let result: "ready" | "timeout" | "aborted";
  try {
    result = await outcome;
  } finally {
    clearTimeout(deadline);
    opts.signal?.removeEventListener("abort", aborted);
    stop.abort();
    await Promise.all(following);
  }
  opts.trace?.(`wait ended: ${result}`);
  if (result === "ready") return;
  if (result === "aborted") opts.signal?.throwIfAborted();

  // What is still not ready, read afresh (the watches may be behind, or never have listed).
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const last = (
    await Promise.all(
      workloads.map(async (o) => ({
        o,
        st: await status(apps, o).catch(
          (e): Status => ({ ready: false, summary: `cannot read: ${apiErrorMessage(e)}` }),
        ),
      })),
    )
  ).filter((s) => !s.st.ready);
  if (last.length === 0) return;
  const details = await Promise.all(last.map((s) => diagnose(core, s.o, s.st).catch(() => describeObject(s.o))));
  const seconds = Math.round(timeoutMs / 1000);
  throw new WaitTimeout(
    `${opts.what ?? "workloads"} not ready after ${seconds} s:\n${details.map((d) => `  ${d}`).join("\n")}`,
  );
}
