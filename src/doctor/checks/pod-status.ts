/**
 * A pod's containers as the kubelet reports them (status.initContainerStatuses, then
 * status.containerStatuses), one evidence line each: the ready flag, the state now, the
 * restarts and how the last run ended. Init containers come first: they run in order, and one
 * that never completes keeps every later container in `PodInitializing`.
 */
import { at, isObject, num, objects, str } from "../object.js";

/** lastTerminated says how a container's previous run ended: `last terminated: Error (exit 1) at T`. */
export function lastTerminated(status: unknown): string | undefined {
  const last = at(status, "lastState", "terminated");
  if (!isObject(last)) return undefined;
  return `last terminated: ${str(last, "reason") ?? "?"} (exit ${num(last, "exitCode") ?? "?"}) at ${str(last, "finishedAt") ?? "?"}`;
}

/** The state a container is in now, with the kubelet's reason and message. */
function stateOf(status: unknown): string {
  const waiting = at(status, "state", "waiting");
  if (isObject(waiting)) {
    const message = str(waiting, "message");
    return `waiting: ${str(waiting, "reason") ?? "?"}${message ? ` (${message})` : ""}`;
  }
  const running = at(status, "state", "running");
  if (isObject(running)) return `running since ${str(running, "startedAt") ?? "?"}`;
  const terminated = at(status, "state", "terminated");
  if (isObject(terminated)) {
    const message = str(terminated, "message")?.trim();
    return `terminated: ${str(terminated, "reason") ?? "?"} (exit ${num(terminated, "exitCode") ?? "?"})${message ? `: ${message}` : ""}`;
  }
  return "no state reported yet";
}

/** One container of a pod, as its status says. */
export interface ContainerReport {
  readonly name: string;
  readonly init: boolean;
  readonly ready: boolean;
  readonly restarts: number;
  /** `init container install-cni: ready=false, restartCount 5, waiting: CrashLoopBackOff (...), last terminated: ...`. */
  readonly line: string;
}

/** containerReports lists a pod's containers, init containers first, in the order the kubelet reports them. */
export function containerReports(pod: unknown): ContainerReport[] {
  const report = (init: boolean) => (s: Record<string, unknown>) => {
    const name = str(s, "name") ?? "?";
    const ready = s.ready === true;
    const restarts = num(s, "restartCount") ?? 0;
    const parts = [`ready=${ready}`, `restartCount ${restarts}`, stateOf(s), lastTerminated(s)].filter(Boolean);
    return {
      name,
      init,
      ready,
      restarts,
      line: `${init ? "init container" : "container"} ${name}: ${parts.join(", ")}`,
    };
  };
  return [
    ...objects(pod, "status", "initContainerStatuses").map(report(true)),
    ...objects(pod, "status", "containerStatuses").map(report(false)),
  ];
}

/**
 * culprit is the container that holds the pod back: the first init container that has not
 * completed (a completed one reports ready), else the first container that is not ready.
 */
export function culprit(reports: readonly ContainerReport[]): ContainerReport | undefined {
  return reports.find((r) => r.init && !r.ready) ?? reports.find((r) => !r.init && !r.ready);
}

/** condition is a pod's or node's status condition of one type, if reported. */
export const condition = (o: unknown, type: string) => objects(o, "status", "conditions").find((c) => c.type === type);

/** describeCondition quotes a condition: `Ready=False since T: Reason: message`. */
export function describeCondition(c: Record<string, unknown>): string {
  const why = [str(c, "reason"), str(c, "message")?.trim()].filter(Boolean).join(": ");
  const since = str(c, "lastTransitionTime");
  return `${String(c.type)}=${String(c.status)}${since ? ` since ${since}` : ""}${why ? `: ${why}` : ""}`;
}
