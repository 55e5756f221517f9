/**
 * What of the API objects goes into a dump: only the fields the checks read, so that a secret
 * held where no check looks (a container's env values, its command and args, a
 * `last-applied-configuration` annotation that copies the whole object, volumes) never reaches
 * the file, whatever its name. Masking by name (dump.ts) stays for the text the checks do read
 * (logs, node files, container messages). A check that starts reading another field adds it
 * here; the dump test compares every check's results on the full and the kept evidence.
 */
import { API_KEYS } from "./api.js";
import { isObject, type JsonObject } from "./object.js";
import type { ApiEvidence, Evidence } from "./types.js";

/** The metadata checks read (names, owners, labels and some annotations). */
const METADATA = ["name", "namespace", "uid", "labels", "annotations", "ownerReferences", "creationTimestamp"] as const;

/** Annotations the checks read, by prefix: Calico's node addresses, Linkerd's injection, MetalLB's requests. */
const ANNOTATION_PREFIXES = [
  "projectcalico.org/",
  "linkerd.io/",
  "config.linkerd.io/",
  "metallb.io/",
  "metallb.universe.tf/",
];

/** The pod spec fields checks read (placement, host network, which containers there are). */
const POD_SPEC = ["nodeName", "hostNetwork", "tolerations", "nodeSelector", "affinity", "containers", "initContainers"];

/** A container's fields checks read: never env, command or args. */
const CONTAINER = ["name", "image", "restartPolicy"];

function pick(o: unknown, keys: readonly string[]): JsonObject | undefined {
  if (!isObject(o)) return undefined;
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

function keepMetadata(meta: unknown): JsonObject | undefined {
  const kept = pick(meta, METADATA);
  if (kept && isObject(kept.annotations)) {
    kept.annotations = Object.fromEntries(
      Object.entries(kept.annotations).filter(([k]) => ANNOTATION_PREFIXES.some((p) => k.startsWith(p))),
    );
  }
  return kept;
}

function keepPodSpec(spec: unknown): JsonObject | undefined {
  const kept = pick(spec, POD_SPEC);
  if (!kept) return undefined;
  for (const list of ["containers", "initContainers"]) {
    if (Array.isArray(kept[list])) kept[list] = (kept[list] as unknown[]).map((c) => pick(c, CONTAINER) ?? {});
  }
  return kept;
}

/** keepObject trims one API object (a Pod when `pod`) to what the checks read. */
export function keepObject(o: JsonObject, pod = o.kind === "Pod"): JsonObject {
  const out: JsonObject = { ...o };
  if (o.metadata !== undefined) out.metadata = keepMetadata(o.metadata);
  const spec = o.spec;
  if (pod && isObject(spec)) out.spec = keepPodSpec(spec);
  // Workloads (DaemonSet, Deployment): their pod template.
  if (isObject(spec) && isObject(spec.template)) {
    const template = spec.template;
    out.spec = {
      ...spec,
      template: { metadata: keepMetadata(template.metadata), spec: keepPodSpec(template.spec) },
    };
  }
  return out;
}

/** keepRead returns the evidence with every API object trimmed to what the checks read. */
export function keepRead(evidence: Evidence): Evidence {
  if (!evidence.api) return evidence;
  const objects = Object.fromEntries(
    Object.entries(evidence.api.objects).map(([key, list]) => [
      key,
      list.map((o) => keepObject(o as JsonObject, key === API_KEYS.pod)),
    ]),
  );
  const api: ApiEvidence = { ...evidence.api, objects };
  return { ...evidence, api };
}
