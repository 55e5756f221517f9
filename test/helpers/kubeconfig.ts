// The kubeconfig tests' inputs: the default plan, and a user's kubeconfig that already holds
// another cluster.
import { parse } from "yaml";
import { DEFAULT_CLUSTER_YAML } from "../../src/config/default-cluster.js";
import { clusterSchema } from "../../src/config/schema.js";
import { buildPlan } from "../../src/plan/build.js";

/** plan is the default cluster file's plan (cluster name `lab`, context kubelab-lab). */
export const plan = buildPlan(clusterSchema.parse(parse(DEFAULT_CLUSTER_YAML)));

/** OTHER is a user's kubeconfig with another cluster in it, some preferences and an extension. */
export const OTHER = `apiVersion: v1
kind: Config
preferences:
  colors: true
clusters:
- name: prod
  cluster: {server: "https://prod.example:6443", insecure-skip-tls-verify: true}
users:
- name: prod-admin
  user: {token: abc}
contexts:
- name: prod
  context: {cluster: prod, user: prod-admin, namespace: web}
current-context: prod
`;
