/**
 * Applying objects the way kubelab applies every addon: server-side apply with field manager
 * `kubelab`, namespaces and CRDs first, each CRD waited for until `Established` before any
 * object of its kinds, and a report of what actually changed (an object whose
 * resourceVersion did not move was already as wanted), so a re-run with nothing new to say
 * changes nothing. Manifests are parsed with the client's own YAML loader, which keeps the
 * `x-kubernetes-*` schema markers of CRDs intact.
 */
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
} from "@kubernetes/client-node";
import { WaitTimeout } from "../errors.js";
import { apiErrorMessage, poll, type WaitOptions } from "./client.js";

/** The field manager of everything kubelab applies. */
export const FIELD_MANAGER = "kubelab";

/** parseManifests reads a multi-document manifest with the client's YAML loader (empty documents dropped). */
export function parseManifests(text: string): KubernetesObject[] {
  return (loadAllYaml(text) as (KubernetesObject | null)[]).filter(
    (o): o is KubernetesObject => o !== null && typeof o === "object" && typeof o.kind === "string",
  );
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

/**
 * applyObjects server-side-applies `objects` (forcing ownership of the fields kubelab sets),
 * namespaces and CRDs first.
 */
export async function applyObjects(
  kc: KubeConfig,
  objects: readonly KubernetesObject[],
  opts: WaitOptions & { log?: (line: string) => void } = {},
): Promise<ApplyResult> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  const changed: string[] = [];
  const unchanged: string[] = [];
  const apply = async (o: KubernetesObject) => {
    const what = describeObject(o);
    const before = await client
      .read({
        apiVersion: o.apiVersion,
        kind: o.kind,
        metadata: { name: o.metadata?.name ?? "", namespace: o.metadata?.namespace },
      })
      .catch((e: { code?: number }) => {
        if (e.code === 404) return undefined;
        throw new Error(`read ${what}: ${apiErrorMessage(e)}`);
      });
    const after = await client
      .patch(o, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply)
      .catch((e: unknown) => {
        throw new Error(`apply ${what}: ${apiErrorMessage(e)}`);
      });
    if (before?.metadata?.resourceVersion === after.metadata?.resourceVersion) unchanged.push(what);
    else {
      changed.push(what);
      opts.log?.(`${before ? "updated" : "created"} ${what}`);
    }
  };
  const sorted = [...objects].sort((a, b) => rank(a) - rank(b));
  for (const o of sorted.filter((x) => rank(x) < 2)) await apply(o);
  const crds = sorted.filter((o) => o.kind === "CustomResourceDefinition").map((o) => o.metadata?.name ?? "");
  if (crds.length > 0)
    await waitEstablished(kc, crds, opts).catch((e) => {
      throw e instanceof WaitTimeout
        ? new WaitTimeout(`${e.message} (the API server has not accepted their schemas)`)
        : e;
    });
  for (const o of sorted.filter((x) => rank(x) === 2)) await apply(o);
  return { changed, unchanged };
}
