/**
 * Reading cluster files: `kubelab.yaml` (with positions for every error),
 * `kubelab.config.ts` (a module whose default export is `defineCluster({...})`), or the
 * embedded default when there is no file. Validating what was read is the plan's business
 * (plan/load-cluster.ts does both in one step).
 */
import { access, readFile, stat } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { LineCounter, parseDocument } from "yaml";
import { cut, UserError } from "../errors.js";
import { DEFAULT_CLUSTER_YAML } from "./default-cluster.js";
import type { ConfigSource, LocatedIssue } from "./issues.js";
import { nestingOf } from "./yaml-depth.js";
import { syntaxIssues } from "./yaml-syntax.js";

/** File names looked for in the working directory, in order. */
export const DISCOVERED_FILES = ["kubelab.yaml", "kubelab.yml", "kubelab.config.ts"] as const;

/** MAX_FILE_BYTES caps a cluster file: a lab's file is a few KiB; anything near this is a wrong file. */
export const MAX_FILE_BYTES = 1024 * 1024;

/** How many alias uses a YAML cluster file may have (yaml's own default, said here to name it in the error). */
const MAX_ALIASES = 100;

/** STDIN_FILE is the `-f` value that reads the cluster file from standard input (YAML only). */
export const STDIN_FILE = "-";

/** STDIN_NAME names standard input in messages: `<stdin>:line:col`. */
export const STDIN_NAME = "<stdin>";

/** Reads all of standard input; injectable so tests (and library users) pass their own text. */
export type StdinReader = () => Promise<string>;

/** displayName is how messages name a cluster file given as `file` (standard input has no name). */
export const displayName = (file: string): string => (file === STDIN_FILE ? STDIN_NAME : file);

/** A cluster file read from somewhere, not yet validated. */
export interface LoadedSource {
  readonly raw: unknown;
  readonly source: ConfigSource;
}

/**
 * How deep a cluster file's values may nest. The deepest field of the schema is a few levels
 * down; the cap keeps a hostile or mangled file from exhausting the stack in what reads it next.
 */
export const MAX_DEPTH = 64;

/**
 * How deep the text may look before parsing (nestingOf only estimates, so this is looser):
 * yaml's parser runs out of stack at several hundred levels.
 */
const MAX_TEXT_DEPTH = 2 * MAX_DEPTH;

/** parseYamlSource parses YAML text; syntax errors come back as located issues. */
export function parseYamlSource(text: string, file: string): LoadedSource | { errors: LocatedIssue[] } {
  if (nestingOf(text) > MAX_TEXT_DEPTH) return tooDeep(file);
  const lines = new LineCounter();
  // logLevel "error": yaml's warnings (a mapping used as a key) would otherwise go straight
  // to the terminal as process warnings; what they concern is reported by validation.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, logLevel: "error" });
  if (doc.errors.length > 0) return { errors: syntaxIssues(doc.errors, text, lines, file) };
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    // yaml refuses documents whose aliases expand too far (a "billion laughs" file).
    if (!(e instanceof ReferenceError)) throw e;
    return {
      errors: [
        {
          file,
          path: [],
          message: `YAML: its aliases (*name) expand too far (more than ${MAX_ALIASES} uses)`,
          fix: "write the repeated values out instead of aliasing aliases",
        },
      ],
    };
  }
  if (depthOf(raw) > MAX_DEPTH) return tooDeep(file);
  return { raw, source: { file, positions: { doc, lines } } };
}

function tooDeep(file: string): { errors: LocatedIssue[] } {
  return {
    errors: [
      {
        file,
        path: [],
        message: `YAML: values nest more than ${MAX_DEPTH} levels deep`,
        fix: "a cluster file nests a few levels (nodes: - name: ...); look for a runaway [, { or indentation, or an alias (*name) inside its own anchor",
      },
    ],
  };
}

/** depthOf measures how deep `value` nests, without recursion (the value may be very deep). */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_DEPTH) break;
    if (v && typeof v === "object") for (const x of Object.values(v)) stack.push([x, depth + 1]);
  }
  return deepest;
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

/**
 * readClusterSource reads a YAML or TypeScript cluster file, the embedded default, or with
 * `-` (STDIN_FILE) YAML from standard input (`stdin`, by default the process's own).
 */
export async function readClusterSource(
  file: string | undefined,
  cwd = process.cwd(),
  stdin: StdinReader = readProcessStdin,
): Promise<LoadedSource | { errors: LocatedIssue[] }> {
  if (file === undefined) return parseYamlSource(DEFAULT_CLUSTER_YAML, "(embedded default)");
  if (file === STDIN_FILE) return parseStdin(await stdin());
  const path = isAbsolute(file) ? file : resolve(cwd, file);
  await checkReadable(file, path);
  if (/\.(m|c)?ts$/.test(file)) {
    const raw = defaultExport(await importConfig(file, path));
    if (raw === undefined) {
      return {
        errors: [{ file, path: [], message: "has no default export", fix: "export default defineCluster({ ... })" }],
      };
    }
    return { raw, source: { file } };
  }
  const text = await readFile(path, "utf8").catch((e: NodeJS.ErrnoException) => {
    throw new UserError(`${file}: cannot read it (${e.code ?? e.message})`, { cause: e });
  });
  return parseYamlSource(text, file);
}

/**
 * parseStdin parses standard input as YAML. A TypeScript config cannot come this way (it is a
 * module to import, with imports relative to its file), so one is refused by name rather than
 * reported as a pile of YAML errors.
 */
function parseStdin(text: string): LoadedSource | { errors: LocatedIssue[] } {
  if (Buffer.byteLength(text) > MAX_FILE_BYTES)
    throw new UserError(`${STDIN_NAME} is more than ${MAX_FILE_BYTES} bytes; a cluster file is at most 1 MiB`, {
      hint: "check what is piped into kubelab -f -",
    });
  if (/^(import|export)\s/m.test(text) && /defineCluster|export\s+default/.test(text))
    throw new UserError(`${STDIN_NAME} looks like a TypeScript config; -f - reads YAML only`, {
      hint: "pass the .ts file by name: -f kubelab.config.ts",
    });
  return parseYamlSource(text, STDIN_NAME);
}

/** readProcessStdin reads the process's standard input to its end; a terminal there is refused, not waited on. */
export async function readProcessStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new UserError("-f - reads the cluster file from standard input, which is a terminal here", {
      hint: "pipe the file in: kubelab plan -f - < kubelab.yaml",
    });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    // Stop reading early: the size check in parseStdin reports it.
    if (size > MAX_FILE_BYTES) break;
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** checkReadable stops early at a missing file, a directory, or a file too big to be a cluster file. */
async function checkReadable(file: string, path: string): Promise<void> {
  const info = await stat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT")
      throw new UserError(`${file}: no such file`, { hint: "kubelab init writes one; or pass -f with another file" });
    throw new UserError(`${file}: cannot read it (${e.code ?? e.message})`, { cause: e });
  });
  if (info.isDirectory())
    throw new UserError(`${file} is a directory`, { hint: `pass the cluster file in it: -f ${file}/kubelab.yaml` });
  if (info.size > MAX_FILE_BYTES)
    throw new UserError(`${file} is ${info.size} bytes; a cluster file is at most ${MAX_FILE_BYTES} (1 MiB)`, {
      hint: "check that -f names the cluster file (kubelab.yaml), not another file",
    });
}

/**
 * defaultExport is a kubelab.config.ts's default export however tsx ran it: as a module, or,
 * in a folder whose package.json does not say `"type": "module"`, as CommonJS, where Node
 * hands the whole exports object over as the default (marked `__esModule` by the compiler).
 */
function defaultExport(mod: { default?: unknown }): unknown {
  const value = mod.default;
  if (typeof value === "object" && value !== null && "__esModule" in value && value.__esModule === true)
    return "default" in value ? value.default : undefined;
  return value;
}

/** importConfig loads a kubelab.config.ts; a file that does not compile or throws is the user's to fix. */
async function importConfig(file: string, path: string): Promise<{ default?: unknown }> {
  const { tsImport } = await import("tsx/esm/api");
  try {
    return (await tsImport(pathToFileURL(path).href, import.meta.url)) as { default?: unknown };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // esbuild's "Transform failed with 1 error:" heads the line that says where.
    const lines = message.split("\n").filter((l) => l.trim() && !/^Transform failed/.test(l));
    throw new UserError(`${file} failed to load: ${cut(lines.slice(0, 3).join("; "), 300)}`, {
      cause: e,
      hint: `fix that; the file must run on its own (npx tsx ${file}) and export default defineCluster({ ... })`,
    });
  }
}
