/**
 * The API part of doctor's evidence: the objects the API checks read, listed as raw JSON (no
 * client-side model drops a field), keyed `apiVersion/Kind`, and the tail of calico-node's logs
 * where it restarted.
 *
 * What is read, and what never is:
 * - every Namespace, Node, Pod, Service, EndpointSlice, DaemonSet and Deployment; MetalLB's IPAddressPool,
 *   L2Advertisement, ServiceL2Status and the legacy AddressPool (a kind that is not served, e.g.
 *   MetalLB not installed or AddressPool gone since v0.14, is an empty list);
 * - three ConfigMaps only: kube-system/kube-proxy, metallb-system/config (MetalLB's pre-v0.13
 *   configuration) and linkerd/linkerd-identity-trust-roots (the trust anchors proxies use);
 * - two Secrets only, and only their certificates: linkerd/linkerd-identity-issuer (`crt.pem` or
 *   `tls.crt`) and kube-system/kubelab-linkerd-identity (`trust-anchor.crt`, kubelab's stored
 *   anchor). The keys, annotations (kubectl's last-applied copy holds the key) and every other
 *   field are dropped right here. No other Secret is ever read.
 *
 * managedFields and kubectl's last-applied-configuration annotation are stripped from every
 * object: they repeat the object and say nothing a check needs.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { fetchRaw, statusMessage } from "../kube/client.js";
import type { Plan } from "../plan/types.js";
import { CALICO_NODE } from "../render/calico.js";
import { LINKERD_IDENTITY_SECRET, TRUST_ANCHOR_CERT } from "../render/linkerd-values.js";
import { type JsonObject, labelsOf, nameOf, namespaceOf, num, obj, objects, str, stringMap } from "./object.js";
import type { ApiEvidence } from "./types.js";

/** The keys of {@link ApiEvidence.objects}. */
export const API_KEYS = {
  namespace: "v1/Namespace",
  node: "v1/Node",
  pod: "v1/Pod",
  service: "v1/Service",
  endpointSlice: "discovery.k8s.io/v1/EndpointSlice",
  configMap: "v1/ConfigMap",
  secret: "v1/Secret",
  daemonSet: "apps/v1/DaemonSet",
  deployment: "apps/v1/Deployment",
  ipAddressPool: "metallb.io/v1beta1/IPAddressPool",
  l2Advertisement: "metallb.io/v1beta1/L2Advertisement",
  serviceL2Status: "metallb.io/v1beta1/ServiceL2Status",
  addressPool: "metallb.io/v1beta1/AddressPool",
} as const;

/** Kinds listed across all namespaces: key -> collection path. */
const LISTS: readonly (readonly [string, string])[] = [
  [API_KEYS.namespace, "/api/v1/namespaces"],
  [API_KEYS.node, "/api/v1/nodes"],
  [API_KEYS.pod, "/api/v1/pods"],
  [API_KEYS.service, "/api/v1/services"],
  [API_KEYS.endpointSlice, "/apis/discovery.k8s.io/v1/endpointslices"],
  [API_KEYS.daemonSet, "/apis/apps/v1/daemonsets"],
  [API_KEYS.deployment, "/apis/apps/v1/deployments"],
  // MetalLB v0.16.1 serves all three as metallb.io/v1beta1 (metallb-native.yaml's CRDs).
  [API_KEYS.ipAddressPool, "/apis/metallb.io/v1beta1/ipaddresspools"],
  [API_KEYS.l2Advertisement, "/apis/metallb.io/v1beta1/l2advertisements"],
  [API_KEYS.serviceL2Status, "/apis/metallb.io/v1beta1/servicel2statuses"],
  // Deprecated in v0.13 (served as v1alpha1 and v1beta1), removed in v0.14 (metallb#2252).
  [API_KEYS.addressPool, "/apis/metallb.io/v1beta1/addresspools"],
];

/**
 * Where a certificate is read from: an object doctor collects, and the data keys that may hold
 * the certificate (the first present is used).
 */
export interface CertificatePlace {
  readonly kind: "Secret" | "ConfigMap";
  readonly namespace: string;
  readonly name: string;
  readonly keys: readonly string[];
}

/** The trust anchors Linkerd's chart gives every proxy (identityTrustAnchorsPEM), in a ConfigMap. */
export const LINKERD_TRUST_ROOTS = {
  kind: "ConfigMap",
  namespace: "linkerd",
  name: "linkerd-identity-trust-roots",
  keys: ["ca-bundle.crt"],
} as const satisfies CertificatePlace;

/** The only ConfigMaps read. */
export const CONFIG_MAPS = [
  { namespace: "kube-system", name: "kube-proxy" },
  // MetalLB's configuration before v0.13; ignored by every later version.
  { namespace: "metallb-system", name: "config" },
  LINKERD_TRUST_ROOTS,
] as const;

/**
 * Linkerd's issuer Secret; its certificate is under `crt.pem` (linkerd.io/tls scheme) or
 * `tls.crt` (kubernetes.io/tls, cert-manager).
 */
export const LINKERD_ISSUER = {
  kind: "Secret",
  namespace: "linkerd",
  name: "linkerd-identity-issuer",
  keys: ["crt.pem", "tls.crt"],
} as const satisfies CertificatePlace;

/** The trust anchor kubelab stored, in the Secret it keeps Linkerd's identity in. */
export const KUBELAB_ANCHOR = {
  kind: "Secret",
  ...LINKERD_IDENTITY_SECRET,
  keys: [TRUST_ANCHOR_CERT],
} as const satisfies CertificatePlace;

/**
 * SECRETS are the only Secrets read, each with the only keys kept: certificates, never a
 * private key (so `trust-anchor.key`, `issuer.key`, `key.pem`, `tls.key` never leave the server's
 * answer). Read only when the plan has Linkerd.
 */
export const SECRETS: readonly CertificatePlace[] = [LINKERD_ISSUER, KUBELAB_ANCHOR];

/** Lines of calico-node's log kept per container (current and previous). */
export const LOG_TAIL_LINES = 300;
const LOG_LIMIT_BYTES = 256 * 1024;

/**
 * collectApi reads the API evidence with the kubeconfig's credentials. A kind the server does
 * not serve is an empty list; any other error (forbidden, unreachable) throws, naming the path.
 * Logs are best effort: a log the kubelet cannot give (node down, no previous container) is left out.
 */
export async function collectApi(kc: KubeConfig, plan: Plan): Promise<ApiEvidence> {
  const byKey: Record<string, JsonObject[]> = {};
  await Promise.all(
    LISTS.map(async ([key, path]) => {
      byKey[key] = await listAll(kc, key, path);
    }),
  );
  const configMaps = await Promise.all(
    CONFIG_MAPS.map((c) => getOne(kc, `/api/v1/namespaces/${c.namespace}/configmaps/${c.name}`)),
  );
  byKey[API_KEYS.configMap] = configMaps
    .filter((o): o is JsonObject => o !== undefined)
    .map((o) => typed(o, API_KEYS.configMap));
  const secrets = plan.addons.linkerd.enabled
    ? await Promise.all(
        SECRETS.map(async (s) => {
          const secret = await getOne(kc, `/api/v1/namespaces/${s.namespace}/secrets/${s.name}`);
          return secret && certificateOnly(secret, s.keys);
        }),
      )
    : [];
  byKey[API_KEYS.secret] = secrets.filter((o): o is JsonObject => o !== undefined);
  const logs = await calicoNodeLogs(kc, byKey[API_KEYS.pod] ?? []);
  // Keys in a stable order, so two dumps of the same cluster compare line by line.
  const sorted = Object.fromEntries(
    Object.keys(byKey)
      .sort()
      .map((k) => [k, byKey[k] ?? []]),
  );
  return { objects: sorted, logs };
}

/** Every item of a collection (following `continue`), as `apiVersion/Kind` objects; [] when not served. */
async function listAll(kc: KubeConfig, key: string, path: string): Promise<JsonObject[]> {
  const items: JsonObject[] = [];
  let token: string | undefined;
  do {
    const query = `?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ""}`;
    const res = await fetchRaw(kc, `${path}${query}`);
    if (res.status === 404) return [];
    if (res.status !== 200) throw new Error(`list ${path}: ${statusMessage(res.status, res.body)}`);
    const list: unknown = JSON.parse(res.body);
    for (const item of objects(list, "items")) items.push(typed(item, key));
    token = str(list, "metadata", "continue") || undefined;
  } while (token);
  return items;
}

/** One object, or undefined when it (or its kind) does not exist. */
async function getOne(kc: KubeConfig, path: string): Promise<JsonObject | undefined> {
  const res = await fetchRaw(kc, path);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`get ${path}: ${statusMessage(res.status, res.body)}`);
  return obj(JSON.parse(res.body));
}

/**
 * The object with apiVersion and kind set (list items of built-in kinds come without them),
 * managedFields and the last-applied annotation removed.
 */
function typed(item: JsonObject, key: string): JsonObject {
  const cut = key.lastIndexOf("/");
  const metadata = { ...obj(item, "metadata") };
  delete metadata.managedFields;
  const annotations = obj(metadata, "annotations");
  if ("kubectl.kubernetes.io/last-applied-configuration" in annotations) {
    const { "kubectl.kubernetes.io/last-applied-configuration": _, ...rest } = annotations;
    metadata.annotations = rest;
  }
  return { ...item, apiVersion: key.slice(0, cut), kind: key.slice(cut + 1), metadata };
}

/** A Secret reduced to who it is and the certificates under `keys`: never a key. */
function certificateOnly(secret: JsonObject, keys: readonly string[]): JsonObject {
  const meta = obj(secret, "metadata");
  const data = stringMap(secret, "data");
  const kept = Object.fromEntries(keys.filter((k) => data[k] !== undefined).map((k) => [k, data[k]]));
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: meta.name,
      namespace: meta.namespace,
      uid: meta.uid,
      resourceVersion: meta.resourceVersion,
      creationTimestamp: meta.creationTimestamp,
    },
    type: secret.type,
    data: kept,
  };
}

/** Whether a pod is one of calico-node's (upstream labels it k8s-app=calico-node). */
export function isCalicoNodePod(pod: unknown): boolean {
  const owners = objects(pod, "metadata", "ownerReferences");
  return (
    labelsOf(pod)["k8s-app"] === CALICO_NODE || owners.some((o) => o.kind === "DaemonSet" && o.name === CALICO_NODE)
  );
}

/** restartCount of a pod's container (0 when it has no status yet). */
export function restartCount(pod: unknown, container: string): number {
  const c = objects(pod, "status", "containerStatuses").find((s) => s.name === container);
  return num(c, "restartCount") ?? 0;
}

/** The tail of calico-node's current and previous log, for each calico-node pod that restarted. */
async function calicoNodeLogs(kc: KubeConfig, pods: readonly JsonObject[]): Promise<Record<string, string>> {
  const logs: Record<string, string> = {};
  const wanted = pods.filter((p) => isCalicoNodePod(p) && restartCount(p, CALICO_NODE) > 0);
  await Promise.all(
    wanted.flatMap((pod) => {
      const [namespace, name] = [namespaceOf(pod), nameOf(pod)];
      const key = `${namespace}/${name}/${CALICO_NODE}`;
      const base = `/api/v1/namespaces/${namespace}/pods/${name}/log?container=${CALICO_NODE}&tailLines=${LOG_TAIL_LINES}&limitBytes=${LOG_LIMIT_BYTES}`;
      return [
        [key, base],
        [`${key}#previous`, `${base}&previous=true`],
      ].map(async ([k, path]) => {
        const res = await fetchRaw(kc, path as string).catch(() => undefined);
        if (res?.status === 200) logs[k as string] = res.body;
      });
    }),
  );
  return Object.fromEntries(Object.entries(logs).sort(([a], [b]) => a.localeCompare(b)));
}
