/**
 * kubelab as a library: load and validate cluster files (YAML, or kubelab.config.ts with
 * {@link defineCluster}), the JSON Schema editors use, and the plan derived from a file with
 * its printed summary. Bringing a cluster up, rendering node files and `doctor` are not
 * exported here: the CLI (src/cli) calls those modules directly.
 * The folders of src/ are layered in the order test/helpers/layer-order.ts states, which
 * test/architecture.test.ts enforces.
 */
import type { ClusterInput } from "./config/schema.js";

export type { ConfigIssue, LocatedIssue } from "./config/issues.js";
export { formatIssue } from "./config/issues.js";
export { clusterJsonSchema } from "./config/json-schema.js";
export { readClusterSource } from "./config/load.js";
export type { ClusterFile, ClusterInput } from "./config/schema.js";
export { clusterSchema } from "./config/schema.js";
export { UserError } from "./errors.js";
export { buildPlan } from "./plan/build.js";
export { describePlan } from "./plan/describe.js";
export { loadCluster } from "./plan/load-cluster.js";
export type { Plan, PlanNode } from "./plan/types.js";
export type { ValidationResult } from "./plan/validate.js";
export { formatResult, validateCluster } from "./plan/validate.js";
export { PINNED } from "./versions.js";

/**
 * defineCluster gives a `kubelab.config.ts` full types and editor completion; it returns
 * its argument unchanged, and kubelab validates it exactly like a YAML file.
 *
 * @example
 * export default defineCluster({
 *   apiVersion: "kubelab.dev/v1alpha1", kind: "Cluster", metadata: { name: "lab" },
 *   nodes: [{ name: "master-1", role: "control-plane" }, { name: "worker-{n}", role: "worker", count: 2 }],
 * });
 */
export function defineCluster<const T extends ClusterInput>(cluster: T): T {
  return cluster;
}
