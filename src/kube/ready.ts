/**
 * Waiting for workloads (Deployments, DaemonSets, StatefulSets) to be ready, the way
 * `kubectl rollout status` judges them, and, when they are not in time, saying why: each
 * unready workload's pods with their phase, the reason their containers wait or last ended,
 * and the latest events about them. Never "timed out" alone.
 */
import { AppsV1Api, CoreV1Api, type KubeConfig, type KubernetesObject, type V1Pod } from "@kubernetes/client-node";
import { WaitTimeout } from "../errors.js";
import { describeObject } from "./apply.js";
import { apiErrorMessage, poll, type WaitOptions } from "./client.js";

const WORKLOADS = new Set(["Deployment", "DaemonSet", "StatefulSet"]);

/** isWorkload: the kinds {@link waitWorkloads} waits for. */
export const isWorkload = (o: KubernetesObject) => WORKLOADS.has(o.kind ?? "") && o.apiVersion === "apps/v1";

interface Status {
  ready: boolean;
  summary: string;
  selector?: Record<string, string>;
}

async function status(apps: AppsV1Api, o: KubernetesObject): Promise<Status> {
  const name = o.metadata?.name ?? "";
  const namespace = o.metadata?.namespace ?? "default";
  if (o.kind === "Deployment") {
    const d = await apps.readNamespacedDeployment({ name, namespace });
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
  if (o.kind === "DaemonSet") {
    const d = await apps.readNamespacedDaemonSet({ name, namespace });
    const s = d.status;
    const want = s?.desiredNumberScheduled ?? 0;
    const current = (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
    const ready = current && want > 0 && s?.numberReady === want && (s?.updatedNumberScheduled ?? 0) >= want;
    return { ready, summary: `${s?.numberReady ?? 0} of ${want} nodes ready`, selector: d.spec?.selector?.matchLabels };
  }
  const st = await apps.readNamespacedStatefulSet({ name, namespace });
  const want = st.spec?.replicas ?? 1;
  const ready =
    (st.status?.readyReplicas ?? 0) >= want && (st.status?.observedGeneration ?? 0) >= (st.metadata?.generation ?? 0);
  return {
    ready,
    summary: `${st.status?.readyReplicas ?? 0} of ${want} ready`,
    selector: st.spec?.selector?.matchLabels,
  };
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

/**
 * waitWorkloads waits until every workload among `objects` is ready; at the deadline the
 * WaitTimeout names each unready one with its pods and events.
 */
export async function waitWorkloads(
  kc: KubeConfig,
  objects: readonly KubernetesObject[],
  opts: WaitOptions & { what?: string } = {},
): Promise<void> {
  const workloads = objects.filter(isWorkload);
  if (workloads.length === 0) return;
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  let last: { o: KubernetesObject; st: Status }[] = [];
  try {
    await poll(
      `${opts.what ?? "workloads"} ready`,
      async () => {
        const statuses = await Promise.all(
          workloads.map(async (o) => ({
            o,
            st: await status(apps, o).catch((e) => ({ ready: false, summary: `cannot read: ${apiErrorMessage(e)}` })),
          })),
        );
        last = statuses.filter((s) => !s.st.ready);
        return last.length === 0
          ? { done: true, value: undefined }
          : { done: false, pending: last.map((s) => describeObject(s.o)).join(", ") };
      },
      { intervalMs: 1_000, ...opts },
    );
  } catch (e) {
    if (!(e instanceof WaitTimeout)) throw e;
    const details = await Promise.all(last.map((s) => diagnose(core, s.o, s.st).catch(() => describeObject(s.o))));
    const seconds = Math.round((opts.timeoutMs ?? 300_000) / 1000);
    throw new WaitTimeout(
      `${opts.what ?? "workloads"} not ready after ${seconds} s:\n${details.map((d) => `  ${d}`).join("\n")}`,
    );
  }
}
