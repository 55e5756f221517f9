/**
 * Applying objects the way kubelab applies every addon: server-side apply with field manager
 * `kubelab`, namespaces and CRDs first, each CRD waited for until `Established` before any
 * object of its kinds, and a report of what actually changed (an object whose
 * resourceVersion did not move was already as wanted), so a re-run with nothing new to say
 * changes nothing.
 *
 * Objects go to the API server as JSON exactly as parsed (src/render/manifests.ts), not
 * through the client library's typed models: those drop every field they do not know, and a
 * plain object's `x-kubernetes-int-or-string` (their `xKubernetesIntOrString`), so Calico's
 * CRDs would be refused ("type: Required value") and newer API fields would silently
 * vanish. The resource path of each kind comes from the API server's discovery.
 */
import { ApiextensionsV1Api, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { UserError, WaitTimeout } from "../errors.js";
import { createLimiter } from "../remote/hosts.js";
import { poll, requestApi, statusMessage, type WaitOptions } from "./client.js";

/** The field manager of everything kubelab applies. */
export const FIELD_MANAGER = "kubelab";

interface ApiResource {
  readonly name: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

/** What an apply the cluster refused says to do: it is the cluster's answer, not a bug of kubelab's. */
const CLUSTER_REFUSED = {
  exitCode: 1,
  hint: "the cluster refused it: kubelab doctor names the usual causes; the next kubelab up continues from here",
};

/**
 * Discovery: the resources of each group/version, fetched once per apply (again when a kind
 * is missing, as happens right after its CRD is established).
 */
function discovery(kc: KubeConfig, signal?: AbortSignal): (o: KubernetesObject) => Promise<string> {
  const cache = new Map<string, ApiResource[]>();
  const base = (apiVersion: string) => (apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`);
  const load = async (apiVersion: string) => {
    const res = await requestApi(kc, "GET", base(apiVersion), undefined, { signal });
    if (res.status === 404) return [];
    if (res.status !== 200)
      throw new UserError(`discovery ${base(apiVersion)}: ${statusMessage(res.status, res.body)}`, CLUSTER_REFUSED);
    const list = (JSON.parse(res.body) as { resources?: ApiResource[] }).resources ?? [];
    const resources = list.filter((r) => !r.name.includes("/"));
    cache.set(apiVersion, resources);
    return resources;
  };
  // Objects applied at once share one request per group version.
  const inFlight = new Map<string, Promise<ApiResource[]>>();
  const fetchGroup = (apiVersion: string) => {
    let loading = inFlight.get(apiVersion);
    if (!loading) {
      loading = load(apiVersion).finally(() => inFlight.delete(apiVersion));
      inFlight.set(apiVersion, loading);
    }
    return loading;
  };
  return async (o) => {
    const apiVersion = o.apiVersion ?? "";
    const find = (list: ApiResource[] | undefined) => list?.find((r) => r.kind === o.kind);
    const r = find(cache.get(apiVersion)) ?? find(await fetchGroup(apiVersion));
    if (!r) throw new Error(`the API server does not serve ${o.kind} in ${apiVersion} (is its CRD installed?)`);
    const ns = r.namespaced ? `/namespaces/${encodeURIComponent(o.metadata?.namespace ?? "default")}` : "";
    return `${base(apiVersion)}${ns}/${r.name}/${encodeURIComponent(o.metadata?.name ?? "")}`;
  };
}

/**
 * isBare: an object that says nothing but its name (MetalLB's `metallb-webhook-cert` Secret,
 * filled in by its controller). Applying one owns no field, and the API server then records
 * the apply anew each time, so once it exists there is nothing to apply.
 */
function isBare(o: KubernetesObject): boolean {
  const { apiVersion: _v, kind: _k, metadata, ...rest } = o as KubernetesObject & Record<string, unknown>;
  const { name: _n, namespace: _ns, ...meta } = metadata ?? {};
  return Object.keys(rest).length === 0 && Object.keys(meta).length === 0;
}

/** describeObject is `Kind namespace/name` (or `Kind name`), for messages. */
export function describeObject(o: KubernetesObject): string {
  const ns = o.metadata?.namespace;
  return `${o.kind} ${ns ? `${ns}/` : ""}${o.metadata?.name ?? "?"}`;
}

/** What an apply did. */
export interface ApplyResult {
  readonly changed: readonly string[];
  readonly unchanged: readonly string[];
}

/** How many objects of one rank are applied at once. */
const APPLY_CONCURRENCY = 8;

const rank = (o: KubernetesObject) => (o.kind === "Namespace" ? 0 : o.kind === "CustomResourceDefinition" ? 1 : 2);

/** waitEstablished waits until every named CRD reports `Established: True`. */
export function waitEstablished(kc: KubeConfig, names: readonly string[], opts: WaitOptions = {}): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  return poll(
    "CRDs Established",
    async () => {
      const pending: string[] = [];
      for (const name of names) {
        const crd = await api.readCustomResourceDefinition({ name }).catch(() => undefined);
        const ok = crd?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
        if (!ok) pending.push(name);
      }
      return pending.length === 0 ? { done: true, value: undefined } : { done: false, pending: pending.join(", ") };
    },
    { intervalMs: 250, ...opts },
  );
}

/** Options of {@link applyObjects}. */
export interface ApplyOptions extends WaitOptions {
  /**
   * Take over fields another manager set to other values (`kubectl apply --force-conflicts`).
   * Without it such a conflict stops the apply and names the manager and the fields.
   */
  readonly force?: boolean;
  readonly log?: (line: string) => void;
}

/**
 * applyObjects server-side-applies `objects`, namespaces and CRDs first. A field someone
 * else changed (kubectl edit, set env) is a conflict that names who and what, unless `force`.
 */
export async function applyObjects(
  kc: KubeConfig,
  objects: readonly KubernetesObject[],
  opts: ApplyOptions = {},
): Promise<ApplyResult> {
  const pathOf = discovery(kc, opts.signal);
  const changed: string[] = [];
  const unchanged: string[] = [];
  const rv = (text: string) => (JSON.parse(text) as KubernetesObject).metadata?.resourceVersion;
  /** apply applies one object and says whether the cluster changed (and whether it was new). */
  const apply = async (o: KubernetesObject): Promise<{ what: string; change?: "created" | "updated" }> => {
    const what = describeObject(o);
    const path = await pathOf(o);
    const before = await requestApi(kc, "GET", path, undefined, { signal: opts.signal });
    if (before.status !== 200 && before.status !== 404)
      throw new UserError(`read ${what}: ${statusMessage(before.status, before.body)}`, CLUSTER_REFUSED);
    if (before.status === 200 && isBare(o)) return { what };
    const res = await requestApi(
      kc,
      "PATCH",
      `${path}?fieldManager=${FIELD_MANAGER}&force=${opts.force ?? false}`,
      { contentType: "application/apply-patch+yaml", data: JSON.stringify(o) },
      { signal: opts.signal },
    );
    if (res.status === 409)
      throw new UserError(`apply ${what}: ${statusMessage(res.status, res.body)}`, {
        exitCode: 1,
        hint: "a field kubelab sets was changed outside kubelab; undo that change, or take the fields back with --force-conflicts",
      });
    if (res.status !== 200 && res.status !== 201)
      throw new UserError(`apply ${what}: ${statusMessage(res.status, res.body)}`, CLUSTER_REFUSED);
    if (before.status === 200 && rv(before.body) === rv(res.body)) return { what };
    return { what, change: before.status === 200 ? "updated" : "created" };
  };
  // Objects of one rank do not depend on each other: they go APPLY_CONCURRENCY at a time (a
  // second `up` re-applies every addon object, one round trip pair each), and are reported in
  // their order. Every request of a group ends before its first failure is thrown.
  const limit = createLimiter(APPLY_CONCURRENCY);
  const applyAll = async (group: readonly KubernetesObject[]) => {
    const results = await Promise.allSettled(group.map((o) => limit.run(() => apply(o))));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    for (const r of results) {
      if (r.status !== "fulfilled") continue;
      if (!r.value.change) unchanged.push(r.value.what);
      else {
        changed.push(r.value.what);
        opts.log?.(`${r.value.change} ${r.value.what}`);
      }
    }
  };
  const sorted = [...objects].sort((a, b) => rank(a) - rank(b));
  // Namespaces before what lives in them, CRDs before their objects.
  await applyAll(sorted.filter((x) => rank(x) === 0));
  await applyAll(sorted.filter((x) => rank(x) === 1));
  const crds = sorted.filter((o) => o.kind === "CustomResourceDefinition").map((o) => o.metadata?.name ?? "");
  if (crds.length > 0)
    await waitEstablished(kc, crds, opts).catch((e) => {
      throw e instanceof WaitTimeout
        ? new WaitTimeout(`${e.message} (the API server has not accepted their schemas)`)
        : e;
    });
  await applyAll(sorted.filter((x) => rank(x) === 2));
  return { changed, unchanged };
}
