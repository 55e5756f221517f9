import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { it } from "node:test";
import { clusterJsonSchema } from "../src/config/json-schema.js";

type Schema = {
  properties?: Record<string, Schema>;
  oneOf?: Schema[];
  anyOf?: Schema[];
  items?: Schema;
  type?: string;
};

/** Dotted paths of every field in the cluster file, `[]` for list items (ssh hosts are one row). */
function fields(s: Schema, prefix: string): string[] {
  const variants = [s, ...(s.oneOf ?? []), ...(s.anyOf ?? [])];
  const props = Object.assign({}, ...variants.map((v) => v.properties ?? {})) as Record<string, Schema>;
  if (Object.keys(props).length === 0) {
    const item = variants.find((v) => v.items)?.items;
    if (item && prefix !== "provider.hosts[]") return item.properties ? fields(item, `${prefix}[]`) : [prefix];
    return [prefix];
  }
  return Object.entries(props).flatMap(([k, v]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    return path === "provider.hosts" ? ["provider.hosts[]"] : fields(v, path);
  });
}

it("README's cluster file reference lists every field of the schema", async () => {
  const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
  const missing = fields(clusterJsonSchema() as Schema, "")
    .filter((f) => !["apiVersion", "kind"].includes(f))
    .filter((f) => !readme.includes(`\`${f}\``));
  assert.deepEqual(missing, [], "add these fields to the reference table in README.md");
});
