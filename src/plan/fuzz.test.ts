import assert from "node:assert/strict";
import { it } from "node:test";
import { parse, stringify } from "yaml";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { parseYamlSource } from "../config/load.js";
import { validateCluster } from "./validate.js";

/** mulberry32: a small seeded PRNG, so a failure is reproducible from its seed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const SEEDS: Json[] = [
  DEFAULT_CLUSTER_YAML,
  "",
  0,
  -1,
  1e9,
  true,
  null,
  "x",
  "192.168.56.300",
  "10.0.2.15",
  "worker-{n}",
  [],
  {},
  "1.37",
  "v1.37.2",
  "ipvs",
  "ssh",
];

/** Every path to a value inside `v`. */
function paths(v: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) out.push(...paths(x, [...prefix, i]));
  } else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

function parentOf(root: Json, path: (string | number)[]): { parent: Json; key: string | number } | undefined {
  let cur = root;
  for (const seg of path.slice(0, -1)) cur = (cur as Record<string | number, Json>)[seg] as Json;
  const key = path.at(-1);
  return key === undefined ? undefined : { parent: cur, key };
}

/** mutate applies one random mutation: delete, retype, duplicate, shuffle or rename a field. */
function mutate(doc: Json, r: () => number): Json {
  const copy = structuredClone(doc);
  const all = paths(copy).filter((p) => p.length > 0);
  const target = all[Math.floor(r() * all.length)];
  const at = target && parentOf(copy, target);
  if (!at) return copy;
  const { parent, key } = at;
  const box = parent as Record<string | number, Json>;
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)] as T;
  switch (Math.floor(r() * 5)) {
    case 0:
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete box[key];
      break;
    case 1:
      box[key] = pick(SEEDS);
      break;
    case 2:
      if (Array.isArray(parent)) parent.push(structuredClone(parent[key as number] ?? null));
      else box[`${String(key)}${pick(["", "s", "_", "2"])}`] = structuredClone(box[key] ?? null);
      break;
    case 3:
      if (Array.isArray(box[key])) (box[key] as Json[]).sort(() => r() - 0.5);
      else box[key] = pick(SEEDS);
      break;
    default: {
      const siblings = Object.keys(box);
      box[key] = structuredClone(box[pick(siblings)] ?? null);
    }
  }
  return copy;
}

it("2,400 mutated cluster files each give a plan or config errors, never a crash", () => {
  const base = parse(DEFAULT_CLUSTER_YAML) as Json;
  const r = rng(20261128);
  let valid = 0;
  let invalid = 0;
  for (let i = 0; i < 2400; i++) {
    let doc = base;
    const steps = 1 + Math.floor(r() * 4);
    for (let s = 0; s < steps; s++) doc = mutate(doc, r);
    let text = stringify(doc);
    // Every fourth case is also truncated mid-file, as an interrupted edit would leave it.
    if (i % 4 === 3) text = text.slice(0, Math.floor(r() * text.length));
    const context = `case ${i}:\n${text}`;
    let loaded: ReturnType<typeof parseYamlSource>;
    try {
      loaded = parseYamlSource(text, "fuzz.yaml");
    } catch (e) {
      assert.fail(`parse crashed: ${e}\n${context}`);
    }
    if ("errors" in loaded) {
      assert.ok(loaded.errors.length > 0, context);
      invalid++;
      continue;
    }
    let result: ReturnType<typeof validateCluster>;
    try {
      result = validateCluster(loaded.raw, loaded.source);
    } catch (e) {
      assert.fail(`validateCluster threw ${(e as Error).stack}\n${context}`);
    }
    if (result.ok) {
      assert.ok(result.plan.nodes.length > 0, context);
      valid++;
    } else {
      assert.ok(result.errors.length > 0, context);
      for (const e of result.errors) assert.ok(typeof e.message === "string" && e.message.length > 0, context);
      invalid++;
    }
  }
  // The mutations must exercise both outcomes, or the test proves nothing.
  assert.ok(valid > 100 && invalid > 1000, `valid ${valid}, invalid ${invalid}`);
});
