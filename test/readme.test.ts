import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { it } from "node:test";
import { clusterJsonSchema } from "../src/config/json-schema.js";
import { readme, readmeSection } from "./helpers/readme.js";

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
  const text = await readme();
  const missing = fields(clusterJsonSchema() as Schema, "")
    .filter((f) => !["apiVersion", "kind"].includes(f))
    .filter((f) => !text.includes(`\`${f}\``));
  assert.deepEqual(missing, [], "add these fields to the reference table in README.md");
});

/** The names src/index.ts exports, values and types, read from its export statements. */
async function indexExports(): Promise<string[]> {
  const index = await readFile(new URL("../src/index.ts", import.meta.url), "utf8");
  const listed = [...index.matchAll(/^export (?:type )?\{([^}]*)\}/gm)].flatMap((m) => (m[1] ?? "").split(","));
  const declared = [...index.matchAll(/^export (?:async )?(?:function|const|class|interface|type) (\w+)/gm)].map(
    (m) => m[1],
  );
  return [...listed, ...declared].map((n) => (n ?? "").trim().replace(/^type /, "")).filter(Boolean);
}

it("README's library section lists what src/index.ts exports, and nothing else", async () => {
  const rows = readmeSection(await readme(), "Library")
    .split("\n")
    .filter((l) => l.startsWith("| `"));
  const listed = rows.flatMap((r) => [...(r.split("|")[1] ?? "").matchAll(/`(\w+)`/g)].map((m) => m[1]));
  assert.deepEqual(listed.sort(), (await indexExports()).sort());
});
