/**
 * Turns zod's issues into ConfigIssues that say what to write instead: unknown keys get
 * "did you mean", enums list their values, missing fields say they are required.
 */
import type { z } from "zod";
import { type ConfigIssue, closest } from "./issues.js";
import type { ConfigPath } from "./positions.js";

type Def = { type: string; [k: string]: unknown };
const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;

/**
 * keysAt returns the keys the schema allows for the object at `path` in `data`
 * (discriminated unions are resolved with the data's own discriminator).
 */
export function keysAt(schema: z.ZodType, path: ConfigPath, data: unknown): string[] {
  let s: unknown = schema;
  let d: unknown = data;
  for (let i = 0; ; ) {
    const def = defOf(s);
    if (["optional", "nullable", "default", "prefault", "readonly", "catch", "nonoptional"].includes(def.type)) {
      s = def.innerType;
    } else if (def.type === "pipe") {
      s = def.in;
    } else if (def.type === "union") {
      const options = def.options as unknown[];
      const disc = def.discriminator as string | undefined;
      const value = disc && d && typeof d === "object" ? (d as Record<string, unknown>)[disc] : undefined;
      const match = options.find((o) => {
        const shape = defOf(o).shape as Record<string, unknown> | undefined;
        const lit = shape && disc ? defOf(shape[disc]) : undefined;
        return lit?.type === "literal" && (lit.values as unknown[]).includes(value);
      });
      if (!match) return [...new Set(options.flatMap((o) => keysAt(o as z.ZodType, path.slice(i), d)))];
      s = match;
    } else if (i === path.length) {
      return def.type === "object" ? Object.keys(def.shape as object) : [];
    } else if (def.type === "object") {
      const seg = String(path[i]);
      s = (def.shape as Record<string, unknown>)[seg];
      d = d && typeof d === "object" ? (d as Record<string, unknown>)[seg] : undefined;
      i++;
      if (!s) return [];
    } else if (def.type === "array") {
      s = def.element;
      d = Array.isArray(d) ? d[path[i] as number] : undefined;
      i++;
    } else {
      return [];
    }
  }
}

function valueAt(data: unknown, path: ConfigPath): unknown {
  let d = data;
  for (const seg of path) d = d && typeof d === "object" ? (d as Record<string | number, unknown>)[seg] : undefined;
  return d;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** fromZod converts zod's issues for `data` into ConfigIssues. */
export function fromZod(schema: z.ZodType, error: z.ZodError, data: unknown): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    const value = valueAt(data, path);
    switch (issue.code) {
      case "unrecognized_keys": {
        const allowed = keysAt(schema, path, data);
        for (const key of issue.keys) {
          const guess = closest(key, allowed);
          out.push({
            path: [...path, key],
            atKey: true,
            message: `unknown key "${key}"`,
            fix: guess ? `did you mean "${guess}"?` : `allowed keys here: ${allowed.join(", ")}`,
          });
        }
        break;
      }
      case "invalid_type":
        out.push(
          value === undefined
            ? { path, message: "is required", fix: `add ${String(path.at(-1))} (${issue.expected})` }
            : { path, message: `must be ${article(issue.expected)}, not ${describe(value)}` },
        );
        break;
      case "invalid_value": {
        const values = issue.values.map((v) => String(v));
        const guess = typeof value === "string" ? closest(value, values) : undefined;
        out.push({
          path,
          message: `${value === undefined ? "is required" : `${describe(value)} is not allowed`}`,
          fix: `${guess ? `did you mean "${guess}"? ` : ""}use ${values.map((v) => `"${v}"`).join(" or ")}`,
        });
        break;
      }
      case "invalid_union": {
        // A discriminated union (provider) names its options and already points at the discriminator.
        const options = "options" in issue && Array.isArray(issue.options) ? issue.options.map(String) : [];
        if (options.length === 0) {
          out.push({
            path,
            message: `must be a mapping, not ${describe(value)}`,
            fix: "see `kubelab schema` for the allowed forms",
          });
          break;
        }
        const guess = typeof value === "string" ? closest(value, options) : undefined;
        out.push({
          path,
          message: value === undefined ? "is required" : `${describe(value)} is not allowed`,
          fix: `${guess ? `did you mean "${guess}"? ` : ""}use ${options.map((v) => `"${v}"`).join(" or ")}`,
        });
        break;
      }
      default: {
        // A format check (config/formats.ts) carries its fix in the issue's params.
        const fix = issue.code === "custom" ? (issue.params as { fix?: unknown } | undefined)?.fix : undefined;
        out.push(typeof fix === "string" ? { path, message: issue.message, fix } : { path, message: issue.message });
      }
    }
  }
  return out;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
