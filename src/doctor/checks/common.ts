/**
 * What the checks of several areas read the same way: the API objects of a kind, whether a
 * pod is Ready, whether a label selector matches, addresses against VirtualBox's NAT network, and
 * long lists cut for a line.
 */
import { containsAddress, type Ipv4Range, parseCidr } from "../../net/ipv4.js";
import { type JsonObject, objects, stringMap, strings } from "../object.js";
import type { Evidence } from "../types.js";

/** items is every API object of one kind (`API_KEYS`) in the evidence. */
export const items = (e: Evidence, key: string): readonly JsonObject[] => e.api?.objects[key] ?? [];

/** json quotes a value as JSON, for evidence lines. */
export const json = (v: unknown): string => JSON.stringify(v);

/** some lists up to `n` entries, then how many more. */
export function some(values: readonly string[], n = 5): string {
  return values.length <= n ? values.join(", ") : `${values.slice(0, n).join(", ")} and ${values.length - n} more`;
}

/** NAT is the network VirtualBox's NAT adapter gives every VM, the same 10.0.2.15 on each. */
export const NAT = parseCidr("10.0.2.0/24") as Ipv4Range;

/** inRange tells whether `ip` is an IPv4 address inside `r`. */
export const inRange = (r: Ipv4Range | undefined, ip: string | undefined): boolean =>
  r !== undefined && ip !== undefined && containsAddress(r, ip);

/** bareIp drops the prefix length: `192.168.56.11/24` -> `192.168.56.11`. */
export const bareIp = (v: string): string => v.split("/")[0] ?? v;

/** podReady tells whether a pod's Ready condition is True. */
export const podReady = (pod: unknown): boolean =>
  objects(pod, "status", "conditions").some((c) => c.type === "Ready" && c.status === "True");

/** heldByMany maps each address that more than one node has to those nodes' names. */
export function heldByMany(pairs: readonly (readonly [string, string])[]): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const [node, ip] of pairs) by.set(ip, [...(by.get(ip) ?? []), node]);
  return new Map([...by].filter(([, nodes]) => new Set(nodes).size > 1));
}

/** selects tells whether a metav1.LabelSelector (matchLabels and matchExpressions) matches `labels`. */
export function selects(selector: JsonObject, labels: Readonly<Record<string, string>>): boolean {
  const matchLabels = stringMap(selector, "matchLabels");
  if (!Object.entries(matchLabels).every(([k, v]) => labels[k] === v)) return false;
  return objects(selector, "matchExpressions").every((x) => {
    const key = String(x.key);
    const values = strings(x, "values");
    switch (x.operator) {
      case "In":
        return key in labels && values.includes(labels[key] as string);
      case "NotIn":
        return !(key in labels) || !values.includes(labels[key] as string);
      case "Exists":
        return key in labels;
      case "DoesNotExist":
        return !(key in labels);
      default:
        return false;
    }
  });
}
