// Generated cluster files for fuzzing: the default lab with random schema-level mutations,
// then, for some cases, damage at the YAML level (truncation, stray bytes, deep nesting,
// huge numbers, unicode, duplicate keys, anchors and aliases, tags). One generator serves the
// unit tier's fuzz test and bench/fuzz.ts, so both exercise the same kinds of files.
import { parse, stringify } from "yaml";
import { DEFAULT_CLUSTER_YAML } from "../../src/config/default-cluster.js";

/** A random source in [0, 1). */
export type Random = () => number;

/** rng is mulberry32: a small seeded PRNG, so a failure is reproducible from its seed. */
export function rng(seed: number): Random {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** caseSeed is the seed of case `i` of a run seeded `seed`: any case can be made again alone. */
export function caseSeed(seed: number, i: number): number {
  return (seed + Math.imul(i, 0x9e3779b9)) | 0;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const VALUES: Json[] = [
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

/** The default lab as data: every case starts from it. */
const BASE = parse(DEFAULT_CLUSTER_YAML) as Json;

const pick = <T>(xs: readonly T[], r: Random): T => xs[Math.floor(r() * xs.length)] as T;

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

/** mutate applies one random schema-level mutation: delete, retype, duplicate, shuffle or rename a field. */
function mutate(doc: Json, r: Random): Json {
  const copy = structuredClone(doc);
  const all = paths(copy).filter((p) => p.length > 0);
  const target = all[Math.floor(r() * all.length)];
  const at = target && parentOf(copy, target);
  if (!at) return copy;
  const { parent, key } = at;
  const box = parent as Record<string | number, Json>;
  switch (Math.floor(r() * 5)) {
    case 0:
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete box[key];
      break;
    case 1:
      box[key] = pick(VALUES, r);
      break;
    case 2:
      if (Array.isArray(parent)) parent.push(structuredClone(parent[key as number] ?? null));
      else box[`${String(key)}${pick(["", "s", "_", "2"], r)}`] = structuredClone(box[key] ?? null);
      break;
    case 3:
      if (Array.isArray(box[key])) (box[key] as Json[]).sort(() => r() - 0.5);
      else box[key] = pick(VALUES, r);
      break;
    default: {
      const siblings = Object.keys(box);
      box[key] = structuredClone(box[pick(siblings, r)] ?? null);
    }
  }
  return copy;
}

/** Scalars that strain a parser or a validator: huge, odd or unicode. */
const ODD_SCALARS = [
  "1e400",
  "-1e400",
  "99999999999999999999999999999",
  "0x7fffffffffffffffff",
  "0o777777777777777777777",
  ".inf",
  "-.inf",
  ".nan",
  "-0",
  "1_000",
  "1.7976931348623157e308",
  "5e-324",
  "2026-12-07T01:02:03Z",
  "~",
  "'\u202eevil'",
  '"\\u0000nul"',
  '"\\x1b[31mred"',
  "nöde-ä",
  "节点",
  "👩‍💻",
  "e\u0301\u0301\u0301",
  "'\u200b'",
  "\uFEFFbom",
  '"\\uD800"',
  "!!binary aGVsbG8=",
  "!!timestamp 2001-12-14",
  "!!float 1e99999",
  "!!int 0x",
  "!custom value",
  "!!js/function 'function(){}'",
  "!!set {a, b}",
  "!!omap [a: 1]",
  "<<: *nowhere",
  "*undefined",
  "&a [*a]",
  "x".repeat(5000),
];

/** Characters for stray bytes: controls, NUL, escape, BOM, YAML indicators, a lone surrogate. */
const STRAY = [
  "\0",
  "\x01",
  "\x07",
  "\x1b",
  "\x7f",
  "\t",
  "\r",
  "\uFEFF",
  "\uFFFD",
  "\uD83D",
  ":",
  "-",
  "[",
  "{",
  "&",
  "*",
  "!",
  "|",
  ">",
  "%",
  "@",
  "`",
  "'",
  '"',
  "#",
];

/** A position at a line's start in `text`. */
function lineStart(text: string, r: Random): number {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return pick(starts, r);
}

/** Lines of `text` that hold `key: value` (indent, key, rest). */
function keyLines(text: string): { at: number; line: string; indent: string; key: string }[] {
  const out: { at: number; line: string; indent: string; key: string }[] = [];
  let at = 0;
  for (const line of text.split("\n")) {
    const m = /^(\s*(?:- )?)([A-Za-z0-9_-]+):/.exec(line);
    if (m) out.push({ at, line, indent: m[1] ?? "", key: m[2] ?? "" });
    at += line.length + 1;
  }
  return out;
}

/** replaceValue puts `value` after a random key's colon. */
function replaceValue(text: string, value: string, r: Random): string {
  const lines = keyLines(text);
  if (lines.length === 0) return `${text}\n${value}`;
  const l = pick(lines, r);
  const colon = l.at + l.indent.length + l.key.length + 1;
  const end = text.indexOf("\n", colon);
  return `${text.slice(0, colon)} ${value}${end < 0 ? "" : text.slice(end)}`;
}

/** A value nested `depth` deep, in flow or block style. */
function nested(depth: number, r: Random): string {
  switch (Math.floor(r() * 3)) {
    case 0:
      return `${"[".repeat(depth)}1${"]".repeat(depth)}`;
    case 1:
      return `${"{a: ".repeat(depth)}1${"}".repeat(depth)}`;
    default:
      // Block style grows with the square of its depth: a thousand levels is half a megabyte.
      depth = Math.min(depth, 1000);
      return `\n${Array.from({ length: depth }, (_, i) => `${" ".repeat(i + 1)}k${i}:`).join("\n")} 1`;
  }
}

/** The YAML-level damages, by name (the name is printed with a failing case). */
export const DAMAGES: Record<string, (text: string, r: Random) => string> = {
  truncate: (text, r) => text.slice(0, Math.floor(r() * text.length)),
  "stray bytes": (text, r) => {
    let out = text;
    const n = 1 + Math.floor(r() * 8);
    for (let i = 0; i < n; i++) {
      const at = Math.floor(r() * (out.length + 1));
      out = `${out.slice(0, at)}${pick(STRAY, r)}${out.slice(at)}`;
    }
    return out;
  },
  "random bytes": (text, r) => {
    const n = 1 + Math.floor(r() * 64);
    const bytes = Array.from({ length: n }, () => String.fromCharCode(Math.floor(r() * 256))).join("");
    const at = Math.floor(r() * (text.length + 1));
    return r() < 0.2 ? bytes : `${text.slice(0, at)}${bytes}${text.slice(at)}`;
  },
  "deep nesting": (text, r) => replaceValue(text, nested(pick([50, 200, 1000, 5000, 20000], r), r), r),
  "odd scalar": (text, r) => replaceValue(text, pick(ODD_SCALARS, r), r),
  "duplicate key": (text, r) => {
    const lines = keyLines(text);
    if (lines.length === 0) return text;
    const l = pick(lines, r);
    const end = text.indexOf("\n", l.at);
    const line = end < 0 ? text.slice(l.at) : text.slice(l.at, end);
    // The same key again under the same parent: a list item's dash becomes its indent.
    const again = line.replace(/^(\s*)- /, "$1  ");
    return `${text.slice(0, end < 0 ? text.length : end)}\n${again}${end < 0 ? "" : text.slice(end)}`;
  },
  anchors: (text, r) => {
    const lines = keyLines(text);
    if (lines.length < 2) return text;
    const from = pick(lines, r);
    const colon = from.at + from.indent.length + from.key.length + 1;
    const anchored = `${text.slice(0, colon)} &x${text.slice(colon)}`;
    switch (Math.floor(r() * 4)) {
      case 0:
        return replaceValue(anchored, "*x", r);
      case 1:
        return replaceValue(anchored, "*missing", r);
      case 2: {
        // A "billion laughs" chain: each level aliases the one before ten times.
        const chain = ["l0: &l0 [lol, lol]"];
        for (let i = 1; i < 8; i++)
          chain.push(
            `l${i}: &l${i} [${Array(10)
              .fill(`*l${i - 1}`)
              .join(", ")}]`,
          );
        return `${chain.join("\n")}\n${text}`;
      }
      default:
        return replaceValue(anchored, "\n  <<: *x", r);
    }
  },
  "multiple documents": (text, r) => {
    const at = lineStart(text, r);
    return `${text.slice(0, at)}---\n${text.slice(at)}`;
  },
  "tabs and line ends": (text, r) => {
    switch (Math.floor(r() * 3)) {
      case 0:
        return text.replace(/\n {2}/g, "\n\t");
      case 1:
        return text.replace(/\n/g, "\r\n");
      default:
        return `\uFEFF${text.replace(/\n/g, "\r")}`;
    }
  },
  "directive or comment": (text, r) =>
    `${pick(["%YAML 1.1\n---\n", "%YAML 9.9\n---\n", "%TAG ! tag:x,2000:\n---\n", "#".repeat(3000), "--- !!map\n"], r)}${text}`,
  "not a mapping": (_text, r) =>
    pick(["", "null", "[]", "- a\n- b", '"just a string"', "42", "---\n...", "? [a]\n: b"], r),
};

const DAMAGE_NAMES = Object.keys(DAMAGES);

/** One generated cluster file, and what was done to it (for a failure's report). */
export interface FuzzCase {
  readonly text: string;
  readonly damage?: string;
}

/**
 * fuzzCluster makes case `i`: the default lab mutated one to four times at the schema level;
 * every fourth case is truncated (an interrupted edit) and every fourth after the first is
 * damaged at the YAML level by one of DAMAGES.
 */
export function fuzzCluster(r: Random, i: number): FuzzCase {
  let doc = BASE;
  const steps = 1 + Math.floor(r() * 4);
  for (let s = 0; s < steps; s++) doc = mutate(doc, r);
  const text = stringify(doc);
  if (i % 4 === 3) return { text: DAMAGES.truncate?.(text, r) ?? text, damage: "truncate" };
  if (i % 4 === 1) {
    const damage = pick(DAMAGE_NAMES, r);
    return { text: DAMAGES[damage]?.(text, r) ?? text, damage };
  }
  return { text };
}
