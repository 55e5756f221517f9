/**
 * The import-boundary check: every relative import of a source tree (static, `import type`,
 * `export ... from` and `import("...")` with a literal path) is resolved to the unit it
 * lands in (a top folder, or a file at the top), and the imports between units are held to
 * a layer order. Test files (`*.test.ts`) are not part of the layering and are not read.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";

/** Floors, top to bottom; each lists the units on it. */
export type LayerOrder = readonly (readonly string[])[];

/** A relative import in a file, with the line it starts on. */
export interface FoundImport {
  readonly specifier: string;
  readonly line: number;
}

// After these characters (or at the start), a `/` begins a regular expression, not a division.
const BEFORE_REGEX = new Set([..."(,=:[!&|?{};+-*%<>~^"]);

/** A source text with its comments blanked, and which characters are inside a literal. */
interface Scanned {
  /** The text with every comment blanked (newlines kept, so lines still count). */
  readonly code: string;
  /** 1 for each character inside a string, a template literal's text or a regular expression. */
  readonly literal: Uint8Array;
}

/**
 * scan tells code from comments and literals, so that an import written in a comment or a
 * string is not taken for one, and `//` inside a string or a regex is not a comment.
 */
function scan(text: string): Scanned {
  const out = [...text];
  const literal = new Uint8Array(text.length);
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  // Open template literals: each entry counts the `{` seen inside its current `${ }`.
  const templates: number[] = [];
  let last = "";
  let i = 0;
  const skipQuoted = (quote: string) => {
    const start = i;
    for (i++; i < text.length && text[i] !== quote; i++) if (text[i] === "\\") i++;
    i++;
    literal.fill(1, start, i);
  };
  // Inside a template: up to the closing backtick, or into a `${`.
  const templateText = () => {
    const start = i;
    for (; i < text.length; i++) {
      if (text[i] === "\\") i++;
      else if (text[i] === "`") {
        templates.pop();
        i++;
        break;
      } else if (text[i] === "$" && text[i + 1] === "{") {
        i += 2;
        break;
      }
    }
    literal.fill(1, start, i);
  };
  while (i < text.length) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      const end = text.indexOf("\n", i);
      const stop = end === -1 ? text.length : end;
      blank(i, stop);
      i = stop;
      continue;
    }
    if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end === -1 ? text.length : end + 2;
      blank(i, stop);
      i = stop;
      continue;
    }
    if (c === "'" || c === '"') {
      skipQuoted(c);
      last = c;
      continue;
    }
    if (c === "`") {
      templates.push(0);
      i++;
      templateText();
      last = "`";
      continue;
    }
    if (
      c === "/" &&
      (last === "" ||
        BEFORE_REGEX.has(last) ||
        /\b(return|typeof|case|of|in)$/.test(text.slice(Math.max(0, i - 12), i).trimEnd()))
    ) {
      const start = i;
      let inClass = false;
      for (i++; i < text.length && text[i] !== "\n"; i++) {
        if (text[i] === "\\") i++;
        else if (text[i] === "[") inClass = true;
        else if (text[i] === "]") inClass = false;
        else if (text[i] === "/" && !inClass) break;
      }
      i++;
      literal.fill(1, start, i);
      last = "/";
      continue;
    }
    if (templates.length > 0 && c === "{") templates[templates.length - 1] = (templates.at(-1) as number) + 1;
    if (templates.length > 0 && c === "}") {
      const depth = templates.at(-1) as number;
      if (depth === 0) {
        i++;
        templateText();
        last = "`";
        continue;
      }
      templates[templates.length - 1] = depth - 1;
    }
    if (!/\s/.test(c)) last = c;
    i++;
  }
  return { code: out.join(""), literal };
}

// `import x from`, `import type { A } from`, `import * as x from`, `export { a } from`,
// `export * from` and a bare `import "..."`, each at the start of a statement.
const STATIC =
  /^[ \t]*(?:import|export)\s+(?:type\s+)?(?:(?:[\w$]+\s*,?\s*)?(?:\{[^}]*\}|\*(?:\s+as\s+[\w$]+)?)?\s*from\s*)?["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g;

/** findImports lists the relative imports of a source text, in order. */
export function findImports(text: string): FoundImport[] {
  const { code, literal } = scan(text);
  const lineOf = (index: number) => code.slice(0, index).split("\n").length;
  return [...code.matchAll(STATIC), ...code.matchAll(DYNAMIC)]
    .map((m) => ({ specifier: m[1] as string, index: m.index + m[0].length - m[0].trimStart().length }))
    .filter((m) => literal[m.index] === 0 && (m.specifier.startsWith("./") || m.specifier.startsWith("../")))
    .sort((a, b) => a.index - b.index)
    .map((m) => ({ specifier: m.specifier, line: lineOf(m.index) }));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return sourceFiles(path);
      return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [path] : [];
    })
    .sort();
}

/** An import between two units, as the report names it. */
interface Edge {
  readonly where: string;
  readonly specifier: string;
}

/** The unit a path inside `root` belongs to: its top folder, or its own name at the top. */
function unitOf(root: string, path: string): string | undefined {
  const rel = relative(root, path);
  if (rel.startsWith("..")) return undefined;
  const parts = rel.split(sep);
  return parts.length === 1 ? basename(rel).replace(/\.[cm]?[jt]s$/, "") : parts[0];
}

/** The shortest cycle from `start` back to itself, following `graph`. */
function cycleFrom(start: string, graph: ReadonlyMap<string, ReadonlyMap<string, Edge>>): string[] | undefined {
  const previous = new Map<string, string>();
  const queue = [start];
  for (let k = 0; k < queue.length; k++) {
    const at = queue[k] as string;
    for (const to of [...(graph.get(at)?.keys() ?? [])].sort()) {
      if (to === start) {
        const path = [at];
        while (path[0] !== start) path.unshift(previous.get(path[0] as string) as string);
        return [...path, start];
      }
      if (!previous.has(to)) {
        previous.set(to, at);
        queue.push(to);
      }
    }
  }
  return undefined;
}

/**
 * checkLayers reads every non-test `.ts` file under `dir` and returns one line per problem,
 * naming the file, its line and the import: an import of a unit on a higher floor, a unit
 * on no floor, and each cycle between units (the path, and the import behind every step).
 * An empty list means the tree keeps the order.
 */
export function checkLayers(dir: string, order: LayerOrder): string[] {
  const root = resolve(dir);
  const shown = (path: string) => join(basename(root), relative(root, path));
  const floor = new Map(order.flatMap((units, k) => units.map((u) => [u, k] as const)));
  const problems: string[] = [];
  const graph = new Map<string, Map<string, Edge>>();
  const unplaced = new Set<string>();
  for (const file of sourceFiles(root)) {
    const from = unitOf(root, file) as string;
    if (!floor.has(from) && !unplaced.has(from)) {
      unplaced.add(from);
      problems.push(`${shown(file)}: ${from} is on no floor of the layer order`);
    }
    for (const imp of findImports(readFileSync(file, "utf8"))) {
      const to = unitOf(root, resolve(dirname(file), imp.specifier));
      if (to === undefined || to === from) continue;
      const where = `${shown(file)}:${imp.line}`;
      const [a, b] = [floor.get(from), floor.get(to)];
      if (a !== undefined && b !== undefined && b < a)
        problems.push(`${where} imports "${imp.specifier}" upward: ${from} is below ${to}`);
      const edges = graph.get(from) ?? new Map<string, Edge>();
      if (!edges.has(to)) edges.set(to, { where, specifier: imp.specifier });
      graph.set(from, edges);
    }
  }
  const reported = new Set<string>();
  for (const unit of [...graph.keys()].sort()) {
    const cycle = cycleFrom(unit, graph);
    if (!cycle) continue;
    const key = [...new Set(cycle)].sort().join(" ");
    if (reported.has(key)) continue;
    reported.add(key);
    const steps = cycle.slice(1).map((to, k) => {
      const edge = graph.get(cycle[k] as string)?.get(to) as Edge;
      return `${edge.where} imports "${edge.specifier}"`;
    });
    problems.push(`cycle between folders ${cycle.join(" -> ")}: ${steps.join("; ")}`);
  }
  return problems;
}
