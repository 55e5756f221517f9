/**
 * Reading cluster files: `kubelab.yaml` (with positions for every error),
 * `kubelab.config.ts` (a module whose default export is `defineCluster({...})`), or the
 * embedded default when there is no file. Validating what was read is the plan's business
 * (plan/load-cluster.ts does both in one step).
 */
import { access, readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { LineCounter, parseDocument } from "yaml";
import { UserError } from "../errors.js";
import { DEFAULT_CLUSTER_YAML } from "./default-cluster.js";
import type { ConfigSource, LocatedIssue } from "./issues.js";

/** File names looked for in the working directory, in order. */
export const DISCOVERED_FILES = ["kubelab.yaml", "kubelab.yml", "kubelab.config.ts"] as const;

/** A cluster file read from somewhere, not yet validated. */
export interface LoadedSource {
  readonly raw: unknown;
  readonly source: ConfigSource;
}

/** parseYamlSource parses YAML text; syntax errors come back as located issues. */
export function parseYamlSource(text: string, file: string): LoadedSource | { errors: LocatedIssue[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      errors: doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return {
          file,
          path: [],
          position: { line: pos.line, col: pos.col },
          message: `YAML: ${e.message.split("\n")[0]}`,
          fix: e.code === "DUPLICATE_KEY" ? "remove one of the two keys" : "fix the YAML syntax at this place",
        };
      }),
    };
  }
  return { raw: doc.toJS(), source: { file, positions: { doc, lines } } };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** findClusterFile returns the file to use: the one given, a discovered one, or undefined for the default. */
export async function findClusterFile(file: string | undefined, cwd = process.cwd()): Promise<string | undefined> {
  if (file) return file;
  for (const name of DISCOVERED_FILES) if (await exists(resolve(cwd, name))) return name;
  return undefined;
}

/** readClusterSource reads a YAML or TypeScript cluster file, or the embedded default. */
export async function readClusterSource(
  file: string | undefined,
  cwd = process.cwd(),
): Promise<LoadedSource | { errors: LocatedIssue[] }> {
  if (file === undefined) return parseYamlSource(DEFAULT_CLUSTER_YAML, "(embedded default)");
  const path = isAbsolute(file) ? file : resolve(cwd, file);
  if (/\.(m|c)?ts$/.test(file)) {
    if (!(await exists(path))) throw new UserError(`${file}: no such file`);
    const { tsImport } = await import("tsx/esm/api");
    const mod = (await tsImport(pathToFileURL(path).href, import.meta.url)) as { default?: unknown };
    if (mod.default === undefined) {
      return {
        errors: [{ file, path: [], message: "has no default export", fix: "export default defineCluster({ ... })" }],
      };
    }
    return { raw: mod.default, source: { file } };
  }
  const text = await readFile(path, "utf8").catch((e: NodeJS.ErrnoException) => {
    throw new UserError(`${file}: ${e.code === "ENOENT" ? "no such file" : e.message}`, { cause: e });
  });
  return parseYamlSource(text, file);
}
