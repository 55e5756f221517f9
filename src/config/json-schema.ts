/**
 * The JSON Schema of the cluster file, generated from the zod schema (input side, so
 * defaulted fields are optional), for editors: `# yaml-language-server: $schema=...`.
 */
import { z } from "zod";
import { clusterSchema } from "./schema.js";

/** clusterJsonSchema returns the cluster file's JSON Schema (draft 2020-12). */
export function clusterJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(clusterSchema, { io: "input", unrepresentable: "any" }),
    $id: "https://kubelab.dev/schema/v1alpha1/cluster.json",
    title: "kubelab Cluster (kubelab.dev/v1alpha1)",
  };
}
