/**
 * The objects kubelab applied to a cluster (those whose managedFields name its field manager),
 * with their resourceVersion: two snapshots around a `kubelab up` show whether it wrote anything.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { FIELD_MANAGER } from "../../src/kube/apply.js";
import { fetchRaw } from "../../src/kube/client.js";

/** The kinds kubelab's addons apply (a kind the server does not serve is left out). */
const COLLECTIONS = [
  "/api/v1/namespaces",
  "/api/v1/configmaps",
  "/api/v1/secrets",
  "/api/v1/serviceaccounts",
  "/api/v1/services",
  "/apis/apps/v1/daemonsets",
  "/apis/apps/v1/deployments",
  "/apis/policy/v1/poddisruptionbudgets",
  "/apis/rbac.authorization.k8s.io/v1/clusterroles",
  "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
  "/apis/rbac.authorization.k8s.io/v1/roles",
  "/apis/rbac.authorization.k8s.io/v1/rolebindings",
  "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
  "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
  "/apis/metallb.io/v1beta1/ipaddresspools",
  "/apis/metallb.io/v1beta1/l2advertisements",
];

interface Item {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; managedFields?: { manager?: string }[] };
}

/**
 * appliedObjects maps `<collection> <namespace>/<name>` to the resourceVersion of every object
 * kubelab's field manager has fields in.
 */
export async function appliedObjects(kc: KubeConfig): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const path of COLLECTIONS) {
    const res = await fetchRaw(kc, path);
    if (res.status === 404) continue;
    if (res.status !== 200) throw new Error(`list ${path}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    for (const item of (JSON.parse(res.body) as { items: Item[] }).items) {
      const m = item.metadata;
      if (!m?.managedFields?.some((f) => f.manager === FIELD_MANAGER)) continue;
      out.set(`${path} ${m.namespace ?? ""}/${m.name ?? ""}`, m.resourceVersion ?? "");
    }
  }
  return out;
}
