/**
 * Multi-document YAML <-> {@link KubeObject} lists, for the upstream manifests kubelab pins
 * (calico.yaml, metallb-native.yaml, kubernetes-headlamp.yaml, the Dashboard's recommended.yaml)
 * and for the objects it renders itself.
 *
 * Why this exists as its own small module: kubelab never `sed`s upstream YAML
 * (settings are rendered in, not patched in later). It parses the pinned manifest into objects,
 * transforms them as data (see calico.ts, ui.ts), and writes them back. Both directions must be
 * lossless for what the API server cares about.
 *
 * The apply path will hand objects to @kubernetes/client-node, whose `loadAllYaml`
 * parses with js-yaml; this module is what renderers, tests and `kubelab render` use. Whichever
 * parser reads the text, a plain round trip must not lose schema extensions such as
 * `x-kubernetes-int-or-string` (calico.yaml has 55 of them): a CRD that loses it rejects
 * `port: 80` *or* `port: "http"`, and the apply fails far from the cause. manifests.int.test.ts
 * counts every `x-kubernetes-*` key before and after a round trip.
 */
import { parseAllDocuments, stringify } from "yaml";
import type { KubeObject } from "./types.js";

/**
 * Parses a multi-document YAML manifest into Kubernetes objects.
 *
 * - Empty documents (`---` followed by nothing or only comments, which upstream manifests have)
 *   are skipped.
 * - `List`-kind documents (`kind: List`, or any `*List` with `items`, as kubectl treats them) are
 *   flattened into their items, so callers always see applyable objects.
 * - YAML syntax errors and documents that are not Kubernetes objects (no `apiVersion`, `kind` or
 *   `metadata.name`) throw an Error naming the document, instead of surfacing later as a
 *   confusing API-server rejection.
 *
 * Uses the `yaml` package's default schema (YAML 1.2 core). Kubernetes' own reader
 * (sigs.k8s.io/yaml, go-yaml v2) is YAML 1.1, where unquoted `yes`/`on`/`0777` are not strings;
 * the upstream manifests kubelab pins quote such values, and {@link stringifyManifest} quotes them
 * on the way out, so the two readers agree on everything kubelab handles.
 */
export function parseManifest(text: string): KubeObject[] {
  const out: KubeObject[] = [];
  const docs = parseAllDocuments(text);
  // parseAllDocuments returns an EmptyStream (not an array) for input with no documents.
  if (!Array.isArray(docs)) return out;
  docs.forEach((doc, index) => {
    const first = doc.errors[0];
    if (first) throw new Error(`manifest document ${index + 1}: invalid YAML: ${first.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    collect(value, `document ${index + 1}`, out);
  });
  return out;
}

function collect(value: unknown, where: string, out: KubeObject[]): void {
  if (!isRecord(value))
    throw new Error(`manifest ${where}: expected a Kubernetes object (a mapping), got ${describe(value)}`);
  const { kind, items } = value;
  if (typeof kind === "string" && kind.endsWith("List") && Array.isArray(items)) {
    items.forEach((item, i) => {
      collect(item, `${where} item ${i + 1}`, out);
    });
    return;
  }
  out.push(asKubeObject(value, where));
}

function asKubeObject(value: Record<string, unknown>, where: string): KubeObject {
  const { apiVersion, kind, metadata } = value;
  if (typeof apiVersion !== "string" || apiVersion === "") throw new Error(`manifest ${where}: missing apiVersion`);
  if (typeof kind !== "string" || kind === "") throw new Error(`manifest ${where}: missing kind`);
  // Server-side apply needs a name; generateName objects cannot be applied idempotently.
  if (!isRecord(metadata) || typeof metadata.name !== "string" || metadata.name === "") {
    throw new Error(`manifest ${where} (${kind}): missing metadata.name`);
  }
  return value as unknown as KubeObject;
}

/**
 * Serialises objects as one multi-document YAML stream (`---` between documents).
 *
 * Strings that a YAML 1.1 reader (kubectl, the API server's sigs.k8s.io/yaml) or a YAML 1.2
 * reader (js-yaml in @kubernetes/client-node, this module) would take for something else are
 * quoted: emitting with the 1.1 schema quotes `yes`, `on`, `0777`, `1:20`, dates; adding the 1.2
 * core octal tag also quotes `0o17`. Without this an env value such as `"on"` would reach the
 * cluster as `true` and fail validation (EnvVar.value must be a string). Long lines are never
 * folded, so diffs against upstream stay readable.
 */
export function stringifyManifest(objects: readonly KubeObject[]): string {
  return objects
    .map((o) => stringify(o, { version: "1.1", customTags: (tags) => [...tags, "intOct"], lineWidth: 0 }))
    .join("---\n");
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return "a sequence";
  return v === null ? "null" : typeof v;
}
