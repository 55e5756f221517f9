/**
 * The cluster's kubeconfig: kubeadm's admin.conf renamed to `kubelab-<name>` (cluster, user
 * and context alike) with the server set to the API endpoint on the lab network, and merged
 * into the user's kubeconfig the way kind does it: entries of the same name replaced, every
 * other cluster, user, context and preference kept, current-context switched to the new one,
 * file mode 0600.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { parse, stringify } from "yaml";
import { UserError } from "../errors.js";
import { removeOnExit } from "../plan/remove-on-exit.js";
import type { Plan } from "../plan/types.js";

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

function parseDoc(text: string, what: string): Doc {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new UserError(`${what} is not valid YAML: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new UserError(`${what} is not a kubeconfig`);
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

/** mergeKubeconfig merges a cluster's kubeconfig into an existing one (or none). */
export function mergeKubeconfig(existing: string | undefined, cluster: string): string {
  const base = parseDoc(existing ?? "", "the kubeconfig");
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
export function removeFromKubeconfig(existing: string, name: string): string {
  const doc = parseDoc(existing, "the kubeconfig");
  const keep = (list: Named[] | null | undefined) => (list ?? []).filter((e) => e.name !== name);
  const out: Doc = { ...doc, clusters: keep(doc.clusters), users: keep(doc.users), contexts: keep(doc.contexts) };
  if (out["current-context"] === name) delete out["current-context"];
  return stringify(out);
}

/** hasContext tells whether a kubeconfig holds a context. */
export function hasContext(text: string, name: string): boolean {
  return (parseDoc(text, "the kubeconfig").contexts ?? []).some((c) => c.name === name);
}

/** userKubeconfigPath: the first file of $KUBECONFIG, else ~/.kube/config (kubectl's choice for writes). */
export function userKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const first = (env.KUBECONFIG ?? "").split(":").find((p) => p !== "");
  return first ?? join(homedir(), ".kube", "config");
}

/** writePrivateFile writes a file atomically with mode 0600 (its directory 0700 when created). */
export async function writePrivateFile(path: string, content: string): Promise<void> {
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

/** mergeIntoFile merges a cluster kubeconfig into the file at `path` (created if missing). */
export async function mergeIntoFile(path: string, cluster: string): Promise<void> {
  const existing = await readFile(path, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  await writePrivateFile(path, mergeKubeconfig(existing, cluster));
}

/** removeFromFile removes a cluster's entries from the file at `path`; false when it had none. */
export async function removeFromFile(path: string, name: string): Promise<boolean> {
  const existing = await readFile(path, "utf8").catch(() => undefined);
  if (existing === undefined || !hasContext(existing, name)) return false;
  await writePrivateFile(path, removeFromKubeconfig(existing, name));
  return true;
}
