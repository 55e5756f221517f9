/**
 * The record of the nodes `up` applied, `nodes.json` in the cluster directory. The cluster
 * file says what should exist; this says what kubelab made, so a node taken out of the file
 * can still be found, reached (its address and SSH login are no longer in the file) and
 * removed. Written once the machines exist, rewritten as nodes are removed.
 */
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { UserError } from "../errors.js";
import { clusterPaths, directoryError, ensureClusterDir } from "./cluster-dir.js";
import type { Plan, PlanNode } from "./types.js";

/** How a recorded node is reached over SSH (the fields of an SSH endpoint). */
export interface AppliedLogin {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly privateKeyPath?: string;
  readonly jump?: AppliedLogin;
}

/** One node as kubelab applied it. */
export interface AppliedNode {
  readonly name: string;
  readonly role: PlanNode["role"];
  /** Its lab address (etcd's peer URL and the known_hosts entry are made from it). */
  readonly ip: string;
  /** How it was reached, when known. */
  readonly ssh?: AppliedLogin;
}

/** The file's content. */
interface AppliedFile {
  readonly version: 1;
  readonly nodes: readonly AppliedNode[];
}

/**
 * readAppliedNodes reads the record; an absent one is empty (a cluster made before the
 * record existed, or never made). One kubelab cannot read is a UserError naming it.
 */
export async function readAppliedNodes(dir: string): Promise<AppliedNode[]> {
  const path = clusterPaths(dir).appliedNodes;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new UserError(`${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`, {
      hint: `check its owner and mode (ls -l ${path}): kubelab keeps there the nodes it made`,
      cause: e,
    });
  }
  try {
    const parsed = JSON.parse(text) as Partial<AppliedFile>;
    if (parsed.version !== 1 || !Array.isArray(parsed.nodes)) throw new Error("not a version 1 record");
    for (const n of parsed.nodes)
      if (typeof n?.name !== "string" || typeof n.ip !== "string" || !["control-plane", "worker"].includes(n.role))
        throw new Error(`a node without name, role or ip: ${JSON.stringify(n)}`);
    return [...parsed.nodes];
  } catch (e) {
    throw new UserError(`${path} is not a record of nodes kubelab can read (${(e as Error).message})`, {
      hint: `move it away (mv ${path} ${path}.old): the next kubelab up writes it again from the cluster file, but nodes already taken out of the file are then no longer found`,
      cause: e,
    });
  }
}

/** writeAppliedNodes replaces the record with `nodes` (atomically: a crash leaves the old one or the new one). */
export async function writeAppliedNodes(dir: string, nodes: readonly AppliedNode[]): Promise<void> {
  await ensureClusterDir(dir);
  const path = clusterPaths(dir).appliedNodes;
  const file: AppliedFile = { version: 1, nodes };
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, path);
  } catch (e) {
    throw directoryError(dir, "the record of the nodes it made", e as NodeJS.ErrnoException);
  }
}

/** forgetAppliedNodes removes the record (the cluster is gone: nothing of it is left to find). */
export async function forgetAppliedNodes(dir: string): Promise<void> {
  await rm(clusterPaths(dir).appliedNodes, { force: true });
}

/**
 * appliedRecord is what to record once the plan's machines exist: the plan's nodes (with the
 * login each was reached by, when known), then the recorded nodes the plan no longer has,
 * which stay until they are removed.
 */
export function appliedRecord(
  plan: Plan,
  logins: ReadonlyMap<string, AppliedLogin>,
  before: readonly AppliedNode[],
): AppliedNode[] {
  const current = plan.nodes.map((n): AppliedNode => {
    const ssh = logins.get(n.name) ?? before.find((b) => b.name === n.name)?.ssh;
    return { name: n.name, role: n.role, ip: n.ip, ...(ssh ? { ssh } : {}) };
  });
  return [...current, ...leftTheFile(plan, before)];
}

/**
 * leftTheFile lists the recorded nodes the plan no longer has: what `up --prune` removes,
 * workers first, then control planes (each in the record's order).
 */
export function leftTheFile(plan: Plan, record: readonly AppliedNode[]): AppliedNode[] {
  const gone = record.filter((r) => !plan.nodes.some((n) => n.name === r.name));
  return [...gone.filter((n) => n.role === "worker"), ...gone.filter((n) => n.role === "control-plane")];
}
