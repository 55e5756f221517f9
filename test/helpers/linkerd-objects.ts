/**
 * Linkerd's objects for doctor's tests, in the shapes the API serves them: the control plane's
 * Deployments and pods as the linkerd-control-plane chart (edge-26.8.3) makes them (the proxy a
 * native sidecar: an init container that restarts Always), statuses as the Deployment controller
 * and the kubelet write them, meshed and unmeshed workload pods, and the identity objects
 * (trust-roots ConfigMap, issuer Secret, kubelab's Secret) from certificates made in process.
 *
 * Specs are valid to create on a real API server; statuses go separately, through the status
 * subresource there, or merged with `withStatus` for hand-made evidence.
 */
import { parse } from "yaml";
import { generateLinkerdIdentity } from "../../src/addons/linkerd-identity.js";
import { DEFAULT_CLUSTER_YAML } from "../../src/config/default-cluster.js";
import { CHECKS } from "../../src/doctor/checks/index.js";
import { runChecks } from "../../src/doctor/run.js";
import type { CheckResult, Evidence } from "../../src/doctor/types.js";
import type { LinkerdIdentity } from "../../src/render/linkerd-values.js";

type Obj = Record<string, unknown>;

/** The default cluster file (Linkerd enabled), as parsed. */
const FILE = parse(DEFAULT_CLUSTER_YAML) as { addons: Obj };
/** The default cluster file with Linkerd off. */
export const NO_LINKERD_FILE = { ...FILE, addons: { ...FILE.addons, linkerd: { enabled: false } } };

/**
 * checkApi runs check `id` on API evidence holding `objects` (by API_KEYS value), collected at
 * `collectedAt`, for the default cluster file or `file`.
 */
export function checkApi(
  id: string,
  objects: Readonly<Record<string, readonly Obj[]>>,
  o: { file?: unknown; collectedAt?: string } = {},
): CheckResult {
  const evidence: Evidence = {
    format: "kubelab.dev/doctor-evidence/v1",
    collectedAt: o.collectedAt ?? "2026-12-08T10:30:00Z",
    file: o.file ?? FILE,
    api: { objects, logs: {} },
    unavailable: {},
  };
  const [result] = runChecks(evidence, CHECKS, [id]);
  if (!result) throw new Error(`no result for ${id}`);
  return result;
}

export const NS = "linkerd";
const SINCE = "2026-12-08T10:02:11Z";
const PROXY_IMAGE = "cr.l5d.io/linkerd/proxy:edge-26.8.3";

/** withStatus is an object as the API returns it once its status was written. */
export const withStatus = (o: Obj, status: Obj): Obj => ({ ...o, status });

/** A control-plane Deployment (`linkerd-identity` -> component `identity`), spec only. */
export function controlPlaneDeployment(name: string): Obj {
  const component = name.replace(/^linkerd-/, "");
  const labels = { "linkerd.io/control-plane-component": component, "linkerd.io/control-plane-ns": NS };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NS, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels: { ...labels, "linkerd.io/workload-ns": NS } },
        spec: { containers: [{ name: component, image: `cr.l5d.io/linkerd/controller:edge-26.8.3` }] },
      },
    },
  };
}

/** A Deployment's status as its controller writes it: `available` of `desired`. */
export function deploymentStatus(desired: number, available: number): Obj {
  const ok = available >= desired;
  return {
    observedGeneration: 1,
    replicas: desired,
    updatedReplicas: desired,
    readyReplicas: available,
    availableReplicas: available,
    ...(available < desired ? { unavailableReplicas: desired - available } : {}),
    conditions: [
      {
        type: "Available",
        status: ok ? "True" : "False",
        reason: ok ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
        message: ok ? "Deployment has minimum availability." : "Deployment does not have minimum availability.",
        lastTransitionTime: SINCE,
        lastUpdateTime: SINCE,
      },
    ],
  };
}

/**
 * A pod of a control-plane Deployment (its template's labels, owned by its ReplicaSet), with
 * linkerd-init and the proxy as init containers, spec only.
 */
export function controlPlanePod(deployment: string, pod: string, node?: string): Obj {
  const component = deployment.replace(/^linkerd-/, "");
  const hash = pod.split("-").at(-2) ?? "0";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: pod,
      namespace: NS,
      labels: {
        "linkerd.io/control-plane-component": component,
        "linkerd.io/control-plane-ns": NS,
        "linkerd.io/workload-ns": NS,
        "pod-template-hash": hash,
      },
    },
    spec: {
      ...(node ? { nodeName: node } : {}),
      automountServiceAccountToken: false,
      initContainers: [
        { name: "linkerd-init", image: "cr.l5d.io/linkerd/proxy-init:v2.4.9" },
        { name: "linkerd-proxy", image: PROXY_IMAGE, restartPolicy: "Always" },
      ],
      containers: [{ name: component, image: "cr.l5d.io/linkerd/controller:edge-26.8.3" }],
    },
  };
}

/** How a pod is doing, as its kubelet reports it. */
export type PodState = "ready" | "crashloop" | "proxy-waiting" | "unschedulable";

/** The status the kubelet (or, unscheduled, the scheduler) writes for a control-plane pod in `state`. */
export function controlPlanePodStatus(deployment: string, state: PodState): Obj {
  const component = deployment.replace(/^linkerd-/, "");
  if (state === "unschedulable")
    return {
      phase: "Pending",
      conditions: [
        {
          type: "PodScheduled",
          status: "False",
          reason: "Unschedulable",
          message: "0/3 nodes are available: 3 Insufficient memory.",
          lastTransitionTime: SINCE,
        },
      ],
    };
  const ready = state === "ready";
  const running = { running: { startedAt: SINCE } };
  const proxyReady = state !== "proxy-waiting";
  return {
    phase: "Running",
    conditions: [
      { type: "PodScheduled", status: "True", lastTransitionTime: SINCE },
      {
        type: "Ready",
        status: ready ? "True" : "False",
        ...(ready ? {} : { reason: "ContainersNotReady", message: `containers with unready status: [${component}]` }),
        lastTransitionTime: SINCE,
      },
    ],
    initContainerStatuses: [
      {
        name: "linkerd-init",
        image: "cr.l5d.io/linkerd/proxy-init:v2.4.9",
        imageID: "",
        ready: true,
        restartCount: 0,
        state: { terminated: { exitCode: 0, reason: "Completed", startedAt: SINCE, finishedAt: SINCE } },
      },
      {
        name: "linkerd-proxy",
        image: PROXY_IMAGE,
        imageID: "",
        ready: proxyReady,
        started: true,
        restartCount: 0,
        state: running,
      },
    ],
    containerStatuses: [
      {
        name: component,
        image: "cr.l5d.io/linkerd/controller:edge-26.8.3",
        imageID: "",
        ready,
        started: ready,
        restartCount: state === "crashloop" ? 6 : 0,
        state:
          state === "crashloop"
            ? {
                waiting: {
                  reason: "CrashLoopBackOff",
                  message: `back-off 5m0s restarting failed container=${component} pod=${component}`,
                },
              }
            : running,
        ...(state === "crashloop"
          ? { lastState: { terminated: { exitCode: 1, reason: "Error", startedAt: SINCE, finishedAt: SINCE } } }
          : {}),
      },
    ],
  };
}

/** A Namespace, annotated `linkerd.io/inject: enabled` when `inject`. */
export const kubeNamespace = (name: string, inject = false): Obj => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, ...(inject ? { annotations: { "linkerd.io/inject": "enabled" } } : {}) },
});

/** How a workload pod got (or did not get) its proxy. */
export type ProxyPlacement = "native sidecar" | "container" | "none";

/**
 * A workload pod in `namespace`: an `app` container and the proxy as `proxy` says; owned by the
 * ReplicaSet `<deployment>-6d4cf56db6` when `deployment` is given.
 */
export function workloadPod(o: {
  namespace: string;
  name: string;
  proxy: ProxyPlacement;
  deployment?: string;
  annotations?: Record<string, string>;
}): Obj {
  const proxy = { name: "linkerd-proxy", image: PROXY_IMAGE };
  const app = { name: "app", image: "registry.k8s.io/e2e-test-images/agnhost:2.53" };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: o.name,
      namespace: o.namespace,
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.deployment
        ? {
            labels: { app: o.deployment, "pod-template-hash": "6d4cf56db6" },
            ownerReferences: [
              {
                apiVersion: "apps/v1",
                kind: "ReplicaSet",
                name: `${o.deployment}-6d4cf56db6`,
                uid: "5e1c3c29-4f7e-4a8e-9a59-0b7f3e1d2c4a",
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      automountServiceAccountToken: false,
      ...(o.proxy === "native sidecar" ? { initContainers: [{ ...proxy, restartPolicy: "Always" }] } : {}),
      containers: o.proxy === "container" ? [app, proxy] : [app],
    },
  };
}

/** A workload pod's status: running (the kubelet's phase is all the injection check reads). */
export const runningStatus: Obj = { phase: "Running", startTime: SINCE };

/** Certificates for the identity checks: kubelab's anchor and issuer, and another pair from a foreign anchor. */
export interface LinkerdPki {
  readonly kubelab: LinkerdIdentity;
  readonly foreign: LinkerdIdentity;
}

/** linkerdPki makes two identities (each an anchor and an issuer it signed), in process. */
export async function linkerdPki(): Promise<LinkerdPki> {
  const [kubelab, foreign] = await Promise.all([generateLinkerdIdentity(), generateLinkerdIdentity()]);
  return { kubelab, foreign };
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** The trust-roots ConfigMap the chart renders from identityTrustAnchorsPEM. */
export const trustRoots = (bundle: string): Obj => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: {
    name: "linkerd-identity-trust-roots",
    namespace: NS,
    labels: { "linkerd.io/control-plane-component": "identity", "linkerd.io/control-plane-ns": NS },
  },
  data: { "ca-bundle.crt": bundle },
});

/**
 * The issuer Secret as the chart makes it (scheme linkerd.io/tls); without `keyPEM`, as doctor
 * keeps it (the certificate only).
 */
export const issuerSecret = (certPEM: string, keyPEM?: string): Obj => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "linkerd-identity-issuer", namespace: NS },
  data: { "crt.pem": b64(certPEM), ...(keyPEM ? { "key.pem": b64(keyPEM) } : {}) },
});

/**
 * kubelab's Secret as stateSecret makes it (anchor and issuer with their keys; the webhooks' left
 * out); with `certificateOnly`, as doctor keeps it (the anchor's certificate only).
 */
export function kubelabSecret(id: LinkerdIdentity, certificateOnly = false): Obj {
  const all = {
    "issuer.crt": b64(id.issuerCertPEM),
    "issuer.key": b64(id.issuerKeyPEM),
    "trust-anchor.crt": b64(id.trustAnchor.certPEM),
    "trust-anchor.key": b64(id.trustAnchor.keyPEM),
  };
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "kubelab-linkerd-identity", namespace: "kube-system" },
    type: "Opaque",
    data: certificateOnly ? { "trust-anchor.crt": all["trust-anchor.crt"] } : all,
  };
}
