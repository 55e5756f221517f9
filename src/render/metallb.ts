/**
 * MetalLB configuration objects kubelab owns: one `IPAddressPool` holding the plan's pools and
 * one `L2Advertisement` announcing exactly that pool.
 *
 * Why these two objects, in this API version (the failure "LoadBalancer IP never answers
 * from the host"):
 * - 4e: deprecated `AddressPool` objects (or an `IPAddressPool` without an `L2Advertisement`)
 *   leave the IP allocated but never announced: nothing answers ARP. So both objects are always
 *   rendered together, and the advertisement names the pool explicitly instead of relying on
 *   "no selector = every pool".
 * - MetalLB v0.16.1 serves both kinds as `metallb.io/v1beta1` (read from its CRDs); the CRD
 *   schemas in metallb-native.yaml are what metallb.int.test.ts validates these objects against.
 * - A pool outside the lab subnet, or overlapping node IPs or DHCP, is checked by the config
 *   rules before a Plan exists; this renderer trusts `plan.addons.metallb.pools`.
 *
 * The objects can only be applied once MetalLB's controller (and its validating webhook
 * `metallb-webhook-service`) is Ready; ordering is the apply path's job.
 */
import type { Plan } from "../plan/types.js";
import { type KubeObject, MANAGED_BY } from "./types.js";

/** Namespace metallb-native.yaml installs into. */
export const METALLB_NAMESPACE = "metallb-system";

/** API version of IPAddressPool and L2Advertisement in MetalLB v0.16 (v1beta1 for both). */
export const METALLB_API_VERSION = "metallb.io/v1beta1";

/** Name of the pool (and advertisement) kubelab owns for a cluster: `kubelab-<plan.name>`. */
export function metallbPoolName(plan: Pick<Plan, "name">): string {
  return `kubelab-${plan.name}`;
}

/**
 * The MetalLB objects for a plan: `[IPAddressPool, L2Advertisement]`, or `[]` when MetalLB is
 * disabled. Pure: no defaults are filled in beyond what the plan says, so re-rendering an
 * unchanged plan gives byte-identical objects (server-side apply is then a no-op).
 */
export function metallbObjects(plan: Plan): KubeObject[] {
  const metallb = plan.addons.metallb;
  if (!metallb.enabled) return [];
  const name = metallbPoolName(plan);
  const metadata = { name, namespace: METALLB_NAMESPACE, labels: { ...MANAGED_BY } };
  return [
    {
      apiVersion: METALLB_API_VERSION,
      kind: "IPAddressPool",
      metadata,
      // Copy: the Plan is immutable and objects must not alias it (apply code may annotate them).
      spec: { addresses: [...metallb.pools] },
    },
    {
      apiVersion: METALLB_API_VERSION,
      kind: "L2Advertisement",
      metadata: { ...metadata, labels: { ...MANAGED_BY } },
      // Name the pool: an advertisement without ipAddressPools announces every pool in the
      // cluster, including ones kubelab does not own (failure 4e in reverse).
      spec: { ipAddressPools: [name] },
    },
  ];
}
