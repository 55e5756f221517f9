/**
 * Reading unknown JSON without casts: API objects as the server sent them, parsed YAML or TOML,
 * `ip -j` output. Each reader walks a path of keys and gives the value only when it has the
 * type asked for; otherwise a default: undefined for a scalar, empty for a list or a map. So a
 * field that is missing, null or of another type reads the same as an absent one, and a check
 * never throws on an object shaped in a way it did not expect.
 */

/** A JSON object (not an array, not null). */
export type JsonObject = Record<string, unknown>;

/** isObject tells a JSON object from everything else (arrays and null included). */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** at is the value at `keys` under `v`; undefined as soon as a step is not an object. */
export function at(v: unknown, ...keys: readonly string[]): unknown {
  let cur = v;
  for (const k of keys) cur = isObject(cur) ? cur[k] : undefined;
  return cur;
}

/** str is the string at `keys`, or undefined. */
export function str(v: unknown, ...keys: readonly string[]): string | undefined {
  const found = at(v, ...keys);
  return typeof found === "string" ? found : undefined;
}

/** num is the number at `keys`, or undefined. */
export function num(v: unknown, ...keys: readonly string[]): number | undefined {
  const found = at(v, ...keys);
  return typeof found === "number" ? found : undefined;
}

/** obj is the object at `keys`, or an empty one. */
export function obj(v: unknown, ...keys: readonly string[]): JsonObject {
  const found = at(v, ...keys);
  return isObject(found) ? found : {};
}

/** objects is the list at `keys` with its object entries only, or an empty list. */
export function objects(v: unknown, ...keys: readonly string[]): JsonObject[] {
  const found = at(v, ...keys);
  return Array.isArray(found) ? found.filter(isObject) : [];
}

/** strings is the list at `keys` with its string entries only, or an empty list. */
export function strings(v: unknown, ...keys: readonly string[]): string[] {
  const found = at(v, ...keys);
  return Array.isArray(found) ? found.filter((s): s is string => typeof s === "string") : [];
}

/** stringMap is the map at `keys` with its string values only (labels, annotations, data), or an empty one. */
export function stringMap(v: unknown, ...keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    Object.entries(obj(v, ...keys)).filter((e): e is [string, string] => typeof e[1] === "string"),
  );
}

/** nameOf is an API object's metadata.name (`?` when it has none). */
export const nameOf = (o: unknown): string => str(o, "metadata", "name") ?? "?";

/** namespaceOf is an API object's metadata.namespace (empty for cluster-scoped objects). */
export const namespaceOf = (o: unknown): string => str(o, "metadata", "namespace") ?? "";

/** refOf names an API object `namespace/name`, or `name` when it is cluster-scoped. */
export const refOf = (o: unknown): string => (namespaceOf(o) ? `${namespaceOf(o)}/${nameOf(o)}` : nameOf(o));

/** labelsOf is an API object's metadata.labels. */
export const labelsOf = (o: unknown): Record<string, string> => stringMap(o, "metadata", "labels");

/** annotationsOf is an API object's metadata.annotations. */
export const annotationsOf = (o: unknown): Record<string, string> => stringMap(o, "metadata", "annotations");
