/**
 * Checks of Linkerd's mesh as the API shows it: the control plane's Deployments available (and,
 * for one that is not, its pods' containers as the kubelet reports them), and a proxy in every
 * running pod of a namespace that asks for injection.
 */
import { API_KEYS } from "../api.js";
import {
  annotationsOf,
  at,
  type JsonObject,
  labelsOf,
  nameOf,
  namespaceOf,
  num,
  obj,
  objects,
  refOf,
  str,
} from "../object.js";
import type { Check, Evidence, Finding } from "../types.js";
import { items, podReady, selects } from "./common.js";
import { condition, containerReports, culprit, describeCondition } from "./pod-status.js";

const NAMESPACE = "linkerd";

/**
 * The linkerd-control-plane chart's Deployments, identity first: the other components' proxies
 * are Ready only once identity has signed their certificates.
 */
const CONTROL_PLANE = ["linkerd-identity", "linkerd-destination", "linkerd-proxy-injector"] as const;

const INSTALL = "run kubelab up: it installs Linkerd's control plane";

/** A pod that is not Ready: where it is, its condition, and each container that is not ready. */
function podLines(pod: JsonObject): string[] {
  const node = str(pod, "spec", "nodeName");
  const cond = node ? condition(pod, "Ready") : condition(pod, "PodScheduled");
  const head = `Pod ${refOf(pod)}${node ? ` on ${node}` : " (not scheduled)"}: phase ${str(pod, "status", "phase") ?? "?"}${cond ? `, ${describeCondition(cond)}` : ""}`;
  return [head, ...containerReports(pod).flatMap((r) => (r.ready ? [] : [`  ${r.line}`]))];
}

/** How to read why the first pod that is not Ready is held back. */
function readWhy(name: string, pods: readonly JsonObject[]): string {
  const pod = pods[0];
  if (!pod) return `read the ReplicaSet's events: kubectl -n ${NAMESPACE} describe deploy ${name}`;
  const held = culprit(containerReports(pod));
  if (!held || !str(pod, "spec", "nodeName"))
    return `read its events: kubectl -n ${NAMESPACE} describe pod ${nameOf(pod)}`;
  return `read why: kubectl -n ${NAMESPACE} logs ${nameOf(pod)} -c ${held.name}${held.restarts > 0 ? " --previous" : ""}`;
}

/** A control-plane Deployment. */
const deploymentOf = (e: Evidence, name: string) =>
  items(e, API_KEYS.deployment).find((x) => namespaceOf(x) === NAMESPACE && nameOf(x) === name);

const replicas = (d: JsonObject) => ({
  desired: num(d, "spec", "replicas") ?? 1,
  available: num(d, "status", "availableReplicas") ?? 0,
});

/** Whether a Deployment has every replica available (one scaled to 0 has none). */
function isAvailable(d: JsonObject | undefined): boolean {
  if (!d) return false;
  const { desired, available } = replicas(d);
  return desired > 0 && available >= desired;
}

/** One control-plane Deployment's finding; `identityDown` when linkerd-identity is not available. */
function deploymentFinding(e: Evidence, name: string, identityDown: boolean): Finding {
  const subject = `Deployment ${NAMESPACE}/${name}`;
  const d = deploymentOf(e, name);
  if (!d) return { verdict: "fail", subject, evidence: [`no ${subject}`], fix: INSTALL };
  const { desired, available } = replicas(d);
  const head = `${subject}: ${available} of ${desired} available`;
  if (isAvailable(d)) return { verdict: "pass", subject, evidence: [head] };
  if (desired === 0)
    return {
      verdict: "fail",
      subject,
      evidence: [head, "spec.replicas is 0: scaled down"],
      fix: `kubectl -n ${NAMESPACE} scale deploy ${name} --replicas=1, or run kubelab up (it applies the chart's replicas)`,
    };
  const selector = obj(d, "spec", "selector");
  const pods = items(e, API_KEYS.pod).filter((p) => namespaceOf(p) === NAMESPACE && selects(selector, labelsOf(p)));
  const unready = pods.filter((p) => !podReady(p));
  const conditions = objects(d, "status", "conditions").filter(
    (c) => c.status !== "True" || c.type === "ReplicaFailure",
  );
  const first =
    name !== CONTROL_PLANE[0] && identityDown
      ? `get ${CONTROL_PLANE[0]} available first (this one's proxy waits for a certificate from it); `
      : "";
  return {
    verdict: "fail",
    subject,
    evidence: [
      head,
      ...conditions.map(describeCondition),
      ...(pods.length === 0 ? ["no pod matches its selector: none was created"] : unready.flatMap(podLines)),
    ],
    fix: `${first}${readWhy(name, unready)}`,
  };
}

/** linkerd.control-plane: identity, destination and the proxy injector have every replica available. */
export const controlPlane: Check = {
  id: "linkerd.control-plane",
  title: `Linkerd's control plane (${CONTROL_PLANE.join(", ")}) has every replica available`,
  needs: ["api"],
  references: ["https://linkerd.io/2/reference/architecture/#control-plane"],
  run(e, plan) {
    if (!plan.addons.linkerd.enabled) return [];
    if (!items(e, API_KEYS.namespace).some((n) => nameOf(n) === NAMESPACE))
      return [
        {
          verdict: "fail",
          subject: `Namespace ${NAMESPACE}`,
          evidence: [`no Namespace ${NAMESPACE}: Linkerd is not installed`],
          fix: INSTALL,
        },
      ];
    const identityDown = !isAvailable(deploymentOf(e, CONTROL_PLANE[0]));
    return CONTROL_PLANE.map((name) => deploymentFinding(e, name, identityDown));
  },
};

const INJECT = "linkerd.io/inject";
const PROXY = "linkerd-proxy";

/**
 * Where a pod has Linkerd's proxy: a container, or a native sidecar (an init container that
 * restarts Always), as Linkerd edge injects it where Kubernetes supports it.
 */
function proxyOf(pod: JsonObject): "container" | "native sidecar" | undefined {
  if (objects(pod, "spec", "containers").some((c) => c.name === PROXY)) return "container";
  if (objects(pod, "spec", "initContainers").some((c) => c.name === PROXY && c.restartPolicy === "Always"))
    return "native sidecar";
  return undefined;
}

/**
 * What restarts a pod: `deploy/web` (its ReplicaSet's name less the pod-template-hash),
 * `ds/x`, `sts/x`; undefined when no controller `rollout restart` knows owns it.
 */
function workloadOf(pod: JsonObject): string | undefined {
  const owner = objects(pod, "metadata", "ownerReferences").find((o) => o.controller === true);
  const [kind, name] = [str(owner, "kind"), str(owner, "name") ?? ""];
  const hash = labelsOf(pod)["pod-template-hash"];
  if (kind === "ReplicaSet" && hash && name.endsWith(`-${hash}`)) return `deploy/${name.slice(0, -hash.length - 1)}`;
  if (kind === "DaemonSet") return `ds/${name}`;
  if (kind === "StatefulSet") return `sts/${name}`;
  return undefined;
}

/** How to restart the pods that have no proxy. */
function restarts(namespace: string, pods: readonly JsonObject[]): string {
  const workloads = [...new Set(pods.flatMap((p) => workloadOf(p) ?? []))];
  const loose = pods.filter((p) => !workloadOf(p)).map(nameOf);
  return [
    ...(workloads.length > 0 ? [`kubectl -n ${namespace} rollout restart ${workloads.join(" ")}`] : []),
    ...(loose.length > 0 ? [`delete and create again ${loose.map((n) => `pod ${namespace}/${n}`).join(", ")}`] : []),
  ].join("; ");
}

const MAX_PODS = 10;

/** One namespace that asks for injection: its running pods without a proxy. */
function namespaceFinding(e: Evidence, namespace: string): Finding {
  const subject = `Namespace ${namespace}`;
  // The injector skips pods that opt out, and host-network pods (Linkerd's "hostNetwork is enabled").
  const pods = items(e, API_KEYS.pod).filter(
    (p) =>
      namespaceOf(p) === namespace &&
      str(p, "status", "phase") === "Running" &&
      annotationsOf(p)[INJECT] !== "disabled" &&
      at(p, "spec", "hostNetwork") !== true,
  );
  const bare = pods.filter((p) => !proxyOf(p));
  const head = `annotated ${INJECT}: enabled; ${pods.length} running pods`;
  if (bare.length === 0) {
    const native = pods.filter((p) => proxyOf(p) === "native sidecar").length;
    return {
      verdict: "pass",
      subject,
      evidence: [`${head}, each with ${PROXY}${native > 0 ? ` (${native} as a native sidecar)` : ""}`],
    };
  }
  const lines = bare.map(
    (p) =>
      `Pod ${refOf(p)} has no ${PROXY}: containers ${objects(p, "spec", "containers")
        .map((c) => String(c.name))
        .join(", ")}`,
  );
  return {
    verdict: "fail",
    subject,
    evidence: [
      `${head}, ${bare.length} without ${PROXY}:`,
      ...lines.slice(0, MAX_PODS),
      ...(lines.length > MAX_PODS ? [`(${lines.length - MAX_PODS} more)`] : []),
    ],
    fix: `restart them (${restarts(namespace, bare)}): pods created before the namespace asked for injection, or while the injector was down, have no proxy`,
  };
}

/** linkerd.injection: every running pod of a namespace that asks for injection has a proxy. */
export const injection: Check = {
  id: "linkerd.injection",
  title: `every running pod in a namespace annotated ${INJECT}: enabled has Linkerd's proxy`,
  needs: ["api"],
  references: ["https://linkerd.io/2/features/proxy-injection/"],
  run(e, plan) {
    if (!plan.addons.linkerd.enabled) return [];
    const namespaces = items(e, API_KEYS.namespace).filter((n) => annotationsOf(n)[INJECT] === "enabled");
    if (namespaces.length === 0)
      return [
        { verdict: "pass", evidence: [`no Namespace is annotated ${INJECT}: enabled: nothing asks for a proxy`] },
      ];
    return namespaces.map((n) => namespaceFinding(e, nameOf(n)));
  },
};
