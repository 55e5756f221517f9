/**
 * The cluster's kubeconfig: kubeadm's admin.conf renamed to `kubelab-<name>` (cluster, user
 * and context alike) with the server set to the API endpoint on the lab network, and merged
 * into the user's kubeconfig the way kind does it: entries of the same name replaced, every
 * other cluster, user, context and preference kept, current-context switched to the new one,
 * file mode 0600. Writing the user's file: a symlink is followed (its target is written, the
 * link stays), `<file>.lock` is held meanwhile (kubectl's lock), a file that does not parse is
 * left as it is, and every error names the file.
 */
import { chmod, lstat, mkdir, readFile, readlink, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { printable, UserError } from "../errors.js";
import { removeOnExit } from "../plan/remove-on-exit.js";
import type { Plan } from "../plan/types.js";
import { withFileLock } from "./file-lock.js";

type Named = { name: string; [k: string]: unknown };
type Doc = {
  apiVersion?: string;
  kind?: string;
  clusters?: Named[] | null;
  users?: Named[] | null;
  contexts?: Named[] | null;
  "current-context"?: string;
  [k: string]: unknown;
};

/** contextName is the kubeconfig context (and cluster and user) name of a kubelab cluster. */
export function contextName(plan: Pick<Plan, "name">): string {
  return `kubelab-${plan.name}`;
}

/** apiServerUrl is where clients reach the API: the control-plane endpoint (by default the first control plane's lab address). */
export function apiServerUrl(plan: Plan): string {
  const ep = plan.kubernetes.controlPlaneEndpoint;
  return `https://${/:\d+$/.test(ep) ? ep : `${ep}:6443`}`;
}

/** What to do about a user's kubeconfig kubelab cannot use: it is left as it is. */
const userFileHint = (file: string) =>
  `fix ${file} or move it away (kubectl cannot use it either); kubelab changes nothing in it until it reads as a kubeconfig`;

function parseDoc(text: string, what: string, userFile?: string): Doc {
  const hint = userFile === undefined ? undefined : userFileHint(userFile);
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new UserError(
      `${what} is not valid YAML: ${printable((e as Error).message.split("\n")[0] ?? "").replace(/:$/, "")}`,
      {
        hint,
      },
    );
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new UserError(`${what} is not a kubeconfig`, { hint });
  // Lists kubelab merges into must be lists of named entries, or the merge would garble them.
  for (const key of ["clusters", "users", "contexts"] as const) {
    const list = (doc as Doc)[key];
    if (list === null || list === undefined) continue;
    if (!Array.isArray(list) || !list.every((e) => typeof e === "object" && e !== null && !Array.isArray(e)))
      throw new UserError(`${what} is not a kubeconfig: ${key} is not a list of entries`, { hint });
  }
  return doc as Doc;
}

const single = (list: Named[] | null | undefined, what: string): Named => {
  if (list?.length !== 1 || !list[0]) throw new Error(`admin.conf: expected exactly one ${what}`);
  return list[0];
};

/**
 * clusterKubeconfig turns kubeadm's admin.conf into the cluster's own kubeconfig. The
 * credentials are admin.conf's (a client certificate); keep the result mode 0600.
 */
export function clusterKubeconfig(adminConf: string, plan: Plan): string {
  const admin = parseDoc(adminConf, "admin.conf");
  const name = contextName(plan);
  const cluster = single(admin.clusters, "cluster").cluster as Record<string, unknown>;
  const user = single(admin.users, "user").user as Record<string, unknown>;
  const doc: Doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster: { ...cluster, server: apiServerUrl(plan) } }],
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    "current-context": name,
  };
  return stringify(doc);
}

function upsert(list: Named[] | null | undefined, entries: Named[]): Named[] {
  const names = new Set(entries.map((e) => e.name));
  return [...(list ?? []).filter((e) => !names.has(e.name)), ...entries];
}

/** mergeKubeconfig merges a cluster's kubeconfig into an existing one (or none); `file` names it in errors. */
export function mergeKubeconfig(existing: string | undefined, cluster: string, file = "the kubeconfig"): string {
  const base = parseDoc(existing ?? "", file, file);
  const add = parseDoc(cluster, "the cluster kubeconfig");
  const merged: Doc = {
    ...base,
    apiVersion: base.apiVersion ?? "v1",
    kind: base.kind ?? "Config",
    clusters: upsert(base.clusters, add.clusters ?? []),
    users: upsert(base.users, add.users ?? []),
    contexts: upsert(base.contexts, add.contexts ?? []),
    "current-context": add["current-context"] ?? base["current-context"],
  };
  return stringify(merged);
}

/**
 * removeFromKubeconfig drops a cluster's context, cluster and user entries; when it was the
 * current context, none is current afterwards (as `kind delete cluster` leaves it).
 */
export function removeFromKubeconfig(existing: string, name: string, file = "the kubeconfig"): string {
  const doc = parseDoc(existing, file, file);
  const keep = (list: Named[] | null | undefined) => (list ?? []).filter((e) => e.name !== name);
  const out: Doc = { ...doc, clusters: keep(doc.clusters), users: keep(doc.users), contexts: keep(doc.contexts) };
  if (out["current-context"] === name) delete out["current-context"];
  return stringify(out);
}

/** hasContext tells whether a kubeconfig holds a context. */
export function hasContext(text: string, name: string, file = "the kubeconfig"): boolean {
  return (parseDoc(text, file, file).contexts ?? []).some((c) => c.name === name);
}

/** userKubeconfigPath: the first file of $KUBECONFIG, else ~/.kube/config (kubectl's choice for writes). */
export function userKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const first = (env.KUBECONFIG ?? "").split(":").find((p) => p !== "");
  return first ?? join(homedir(), ".kube", "config");
}

/** writePrivateFile writes a file atomically with mode 0600 (its directory 0700 when created). */
export async function writePrivateFile(path: string, content: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.kubelab-${process.pid}`;
  const forget = removeOnExit(tmp);
  try {
    await writeFile(tmp, content, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
    forget();
  }
}

/** The most symlinks followed to the file (as the kernel's ELOOP limit). */
const MAX_LINKS = 40;

/** writeTarget is the file a write to `path` changes: the end of its symlinks, or `path` itself. */
async function writeTarget(path: string): Promise<string> {
  let p = path;
  for (let i = 0; i < MAX_LINKS; i++) {
    const st = await lstat(p).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return undefined;
      throw new UserError(`${path}: cannot read it (${e.code ?? e.message})`, {
        hint:
          e.code === "ENOTDIR"
            ? `a part of that path is a file, not a directory: point KUBECONFIG at a file (kubelab merges its context into the first file of KUBECONFIG, else ~/.kube/config)`
            : `check the owner and mode of its directories (ls -ld ${dirname(p)})`,
        cause: e,
      });
    });
    if (!st?.isSymbolicLink()) return p;
    p = resolve(dirname(p), await readlink(p));
  }
  throw new UserError(`${path}: too many levels of symbolic links`, {
    hint: `a link leads back to itself: point it at a kubeconfig file (ls -l ${path}), or remove it`,
  });
}

/**
 * updateFile changes the kubeconfig at `path` under its lock: `change` gets the text (undefined
 * when there is no file) and returns the new one, or undefined to leave the file alone.
 */
async function updateFile(path: string, change: (text: string | undefined, name: string) => string | undefined) {
  const target = await writeTarget(path);
  const name = target === path ? path : `${path} (a link to ${target})`;
  await mkdir(dirname(target), { recursive: true, mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
    throw new UserError(`${name}: cannot make its directory (${e.code ?? e.message})`, { cause: e });
  });
  return withFileLock(target, name, async () => {
    const existing = await readUserFile(target, name);
    // A file that does not parse throws here, before anything is written: it stays as it is.
    const next = change(existing, name);
    if (next === undefined) return false;
    await writePrivateFile(target, next).catch((e: NodeJS.ErrnoException) => {
      throw e instanceof UserError
        ? e
        : new UserError(`${name}: cannot write it (${e.code ?? e.message})`, { cause: e });
    });
    return true;
  });
}

/** readUserFile reads the user's kubeconfig (undefined when there is none); `name` names it in errors. */
async function readUserFile(target: string, name: string): Promise<string | undefined> {
  return readFile(target, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    if (e.code === "EISDIR")
      throw new UserError(`${name} is a directory, not a kubeconfig file`, {
        hint: `move it away, or point KUBECONFIG at a file (kubelab merges its context into the first file of KUBECONFIG, else ~/.kube/config)`,
        cause: e,
      });
    throw new UserError(`${name}: cannot read it (${e.code ?? e.message})`, {
      hint: `check its owner and mode (ls -l ${target}); kubelab reads it to merge its context in`,
      cause: e,
    });
  });
}

/**
 * checkKubeconfig reads and parses the user's kubeconfig at `path` without changing it, so a
 * command that would write it at its end (up after minutes of work, down after removing the
 * machines) stops first with the file named; no file is fine (it would be created).
 */
export async function checkKubeconfig(path: string): Promise<void> {
  const target = await writeTarget(path);
  const name = target === path ? path : `${path} (a link to ${target})`;
  const text = await readUserFile(target, name);
  if (text !== undefined) parseDoc(text, name, name);
}

/** mergeIntoFile merges a cluster kubeconfig into the file at `path` (created if missing). */
export async function mergeIntoFile(path: string, cluster: string): Promise<void> {
  await updateFile(path, (existing, name) => mergeKubeconfig(existing, cluster, name));
}

/** removeFromFile removes a cluster's entries from the file at `path`; false when it had none. */
export async function removeFromFile(path: string, name: string): Promise<boolean> {
  // No file (or a dangling link): nothing to remove, and no directory made for it.
  if (!(await stat(path).catch(() => undefined))) return false;
  return updateFile(path, (existing, file) =>
    existing === undefined || !hasContext(existing, name, file)
      ? undefined
      : removeFromKubeconfig(existing, name, file),
  );
}
