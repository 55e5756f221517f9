import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { it } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";
import { DEFAULT_CLUSTER_YAML } from "./default-cluster.js";
import { clusterJsonSchema } from "./json-schema.js";

const committed = new URL("../../schema.json", import.meta.url);

it("schema.json is the committed output of `kubelab schema`", async () => {
  const onDisk = JSON.parse(await readFile(committed, "utf8"));
  assert.deepEqual(onDisk, clusterJsonSchema(), "schema.json is stale: run `npx kubelab schema > schema.json`");
});

it("editors using the JSON Schema accept the default file and flag unknown keys", () => {
  const validate = new Ajv2020({ strict: false, allErrors: true }).compile(clusterJsonSchema());
  const doc = parse(DEFAULT_CLUSTER_YAML) as { nodes: Record<string, unknown>[] };
  assert.ok(validate(doc), JSON.stringify(validate.errors));
  (doc.nodes[0] as Record<string, unknown>).cpu = 2;
  assert.equal(validate(doc), false);
  assert.ok(validate.errors?.some((e) => e.keyword === "additionalProperties"));
});
