/**
 * Server defaults of admission policies, written into the objects kubelab applies.
 *
 * A ValidatingAdmissionPolicy's `matchConstraints` is an atomic struct: server-side apply owns
 * it whole and compares it whole. Upstream manifests leave out the fields the API server
 * defaults (matchPolicy, the empty selectors, each rule's scope), so the applied value never
 * equals the stored one and every apply is taken as a change: the API server rewrites the
 * object (a new resourceVersion, kubelab's managedFields time) although nothing differs. A no-op
 * `up` then reports a change. Applying the defaulted form makes the apply a true no-op.
 */
import type { KubeObject } from "./types.js";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** The defaults admissionregistration.k8s.io/v1 gives a MatchResources and its rules. */
function defaultMatchResources(match: Json): Json {
  const rules = (key: string) =>
    Array.isArray(match[key])
      ? { [key]: (match[key] as unknown[]).map((r) => (isObject(r) ? { scope: "*", ...r } : r)) }
      : {};
  return {
    matchPolicy: "Equivalent",
    namespaceSelector: {},
    objectSelector: {},
    ...match,
    ...rules("resourceRules"),
    ...rules("excludeResourceRules"),
  };
}

/**
 * withAdmissionDefaults returns `o` with the API server's defaults filled into a
 * ValidatingAdmissionPolicy's `spec.matchConstraints` (and a binding's `spec.matchResources`);
 * any other object is returned as is. Pure; the input is not mutated.
 */
export function withAdmissionDefaults(o: KubeObject): KubeObject {
  const field = {
    ValidatingAdmissionPolicy: "matchConstraints",
    ValidatingAdmissionPolicyBinding: "matchResources",
  }[o.kind];
  const spec = o.spec;
  if (!field || o.apiVersion !== "admissionregistration.k8s.io/v1" || !isObject(spec) || !isObject(spec[field]))
    return o;
  return { ...o, spec: { ...spec, [field]: defaultMatchResources(spec[field] as Json) } };
}
