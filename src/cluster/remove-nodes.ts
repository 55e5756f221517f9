/**
 * Removing the nodes that left the cluster file (`up --prune`), one at a time, workers
 * first: drain it, delete its Node object, `kubeadm reset` on it, make sure a control
 * plane's etcd member is gone, let the provider remove the machine (existing hosts stay),
 * forget its host keys, and drop it from the record of applied nodes.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { KubeConfig } from "@kubernetes/client-node";
import { requestApi, statusMessage } from "../kube/client.js";
import { drainNode } from "../kube/drain.js";
import { memberList, memberRemove, membersOf } from "../phases/etcd.js";
import { change, type PhaseContext } from "../phases/phase.js";
import { type AppliedNode, writeAppliedNodes } from "../plan/applied-nodes.js";
import { clusterPaths } from "../plan/cluster-dir.js";
import type { Plan } from "../plan/types.js";
import type { MachineProvider } from "../providers/types.js";
import { forgetHost } from "../remote/known-hosts.js";
import type { Remote } from "../remote/types.js";
import { heldVip, KUBEADM_RESET, kubeadmLeftFiles, stopVip } from "./reset.js";

/** What a question about removing nodes gets, and where a refusal goes. */
export interface RemovalConsent {
  /** --prune: remove without asking. */
  readonly prune?: boolean;
  /** Asks the user (a terminal); absent: nobody to ask. */
  readonly confirm?: (question: string) => Promise<boolean>;
  readonly warn: (line: string) => void;
}

/**
 * removalConsent says whether to remove `leaving` now: with --prune yes, else the answer to
 * the question when someone can be asked; otherwise (and after a no) a warning names them and
 * how to remove them, and they are left alone.
 */
export async function removalConsent(leaving: readonly string[], opts: RemovalConsent): Promise<boolean> {
  if (leaving.length === 0) return false;
  if (opts.prune) return true;
  const names = leaving.join(", ");
  const many = leaving.length > 1;
  if (
    opts.confirm &&
    (await opts.confirm(
      `${names} ${many ? "are" : "is"} no longer in the cluster file. Drain and remove ${many ? "them" : "it"} (Node object, kubeadm reset, machine)?`,
    ))
  )
    return true;
  opts.warn(
    `${names} ${many ? "are" : "is"} no longer in the cluster file but still in the cluster: left as ${many ? "they are" : "it is"}; kubelab up --prune drains and removes ${many ? "them" : "it"}`,
  );
  return false;
}

/**
 * strangerNodes are the cluster's Node objects (by name) that are neither in the file nor in
 * the record of nodes kubelab applied: someone else's, reported and never touched.
 */
export function strangerNodes(names: readonly string[], plan: Plan, record: readonly AppliedNode[]): string[] {
  const known = new Set([...plan.nodes.map((n) => n.name), ...record.map((n) => n.name)]);
  return names.filter((n) => n !== "" && !known.has(n));
}

/** What removeNodes works with. */
export interface RemoveNodesContext {
  /** Where each change is recorded and logged (the same change() as the phases'). */
  readonly phase: PhaseContext;
  readonly provider: MachineProvider;
  readonly clusterDir: string;
  readonly kc: KubeConfig;
  /** A control plane that stays, for etcd. */
  readonly controlPlane: Remote;
  /** Connects to a node that leaves; undefined when it cannot be reached (its reset is skipped). */
  readonly connect: (node: AppliedNode) => Promise<Remote | undefined>;
  /** The record as it is; each removed node is dropped from it and the record rewritten. */
  readonly record: readonly AppliedNode[];
  readonly drainTimeoutMs: number;
}

/** removeNodes removes `leaving` in order (workers first), one at a time; returns the record left. */
export async function removeNodes(leaving: readonly AppliedNode[], ctx: RemoveNodesContext): Promise<AppliedNode[]> {
  let record = [...ctx.record];
  const { phase } = ctx;
  for (const node of leaving) {
    phase.signal?.throwIfAborted();
    await change(phase, node.name, "drain (evict its pods)", () =>
      drainNode(ctx.kc, node.name, { timeoutMs: ctx.drainTimeoutMs, signal: phase.signal, log: phase.log }),
    );
    await change(phase, node.name, "delete its Node object", () => deleteNode(ctx.kc, node.name, phase.signal));
    // A control plane leaves etcd before its reset stops its member: on two members, a member
    // stopped first would take the quorum with it and nothing could be removed any more.
    if (node.role === "control-plane") await leaveEtcd(node, ctx);
    const remote = await ctx.connect(node);
    if (remote) {
      try {
        if (await kubeadmLeftFiles(remote))
          await change(phase, node.name, "kubeadm reset", () => remote.run(KUBEADM_RESET, { timeoutMs: 300_000 }));
        if (node.role === "control-plane" && (await heldVip(remote)))
          await change(phase, node.name, "stop keepalived and HAProxy (the VIP is given up)", () =>
            stopVip(node.name, remote, phase.log),
          );
      } finally {
        await remote.close().catch(() => {});
      }
    } else phase.log(`${node.name}: not reachable over SSH: kubeadm reset skipped`);
    const remove = ctx.provider.remove;
    if (remove)
      await change(phase, node.name, "remove the machine", () =>
        remove(phase.plan, [node.name], { clusterDir: ctx.clusterDir, log: phase.log, signal: phase.signal }),
      );
    else phase.log(`${node.name}: an existing host: it stays, with Kubernetes reset on it`);
    const knownHosts = clusterPaths(ctx.clusterDir).knownHosts;
    await forgetHost(knownHosts, node.ip, 22);
    if (node.ssh && (node.ssh.host !== node.ip || node.ssh.port !== 22))
      await forgetHost(knownHosts, node.ssh.host, node.ssh.port);
    record = record.filter((r) => r.name !== node.name);
    await writeAppliedNodes(ctx.clusterDir, record);
  }
  return record;
}

/** leaveEtcd removes a control plane's etcd members (by name, or by peer address for one never started). */
async function leaveEtcd(node: AppliedNode, ctx: RemoveNodesContext): Promise<void> {
  const { phase } = ctx;
  const members = await askEtcd(() => memberList(ctx.controlPlane), phase.signal);
  for (const m of membersOf(members, { name: node.name, ip: node.ip }))
    await change(phase, node.name, `remove its etcd member ${m.id}`, () => memberRemove(ctx.controlPlane, m.id));
}

/**
 * askEtcd asks etcd again for a while when it fails: right after a member leaves, etcd may
 * take a few seconds to settle its leader.
 */
async function askEtcd<T>(fn: () => Promise<T>, signal?: AbortSignal, tries = 6): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= tries || signal?.aborted) throw e;
      await sleep(2_000, undefined, { signal });
    }
  }
}

/** deleteNode deletes a Node object; one already gone is fine. */
async function deleteNode(kc: KubeConfig, node: string, signal?: AbortSignal): Promise<void> {
  const r = await requestApi(kc, "DELETE", `/api/v1/nodes/${encodeURIComponent(node)}`, undefined, { signal });
  if (r.status >= 300 && r.status !== 404) throw new Error(`delete Node ${node}: ${statusMessage(r.status, r.body)}`);
}
