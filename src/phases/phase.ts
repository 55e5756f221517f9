/**
 * Phases: ordered steps of `kubelab up`, each gathering facts, deciding, then acting only
 * where a node differs from the plan. Every change goes through `ctx.change()`, which in a
 * dry run records what would happen instead of doing it.
 */

import type { PackageSource } from "../artifacts/package-source.js";
import type { FileServer } from "../artifacts/serve.js";
import type { Plan } from "../plan/types.js";
import { forEachHost } from "../remote/hosts.js";
import type { Remote } from "../remote/types.js";
import type { NodeFacts } from "./facts.js";

/** One change made (or, in a dry run, that would be made) on a node. */
export interface Change {
  readonly node: string;
  readonly what: string;
}

/** What phases share. */
export interface PhaseContext {
  readonly plan: Plan;
  /** Connections by node name. */
  readonly hosts: ReadonlyMap<string, Remote>;
  /** Facts by node name, filled by the gather-facts phase and refreshed after changes. */
  readonly facts: Map<string, NodeFacts>;
  readonly packages: PackageSource;
  /** The host's file server nodes fetch files from; without one, files go over SSH. */
  readonly fileServer?: FileServer;
  readonly dryRun: boolean;
  /** How many nodes are worked on at once. */
  readonly concurrency: number;
  readonly log: (line: string) => void;
  readonly changes: Change[];
  /** Units to restart per node once their files are in place (e.g. containerd after a config change). */
  readonly restart: Map<string, Set<string>>;
  readonly signal?: AbortSignal;
  /** This host's clock (ms since the epoch) that node clocks are compared with. @default Date.now */
  readonly clock?: () => number;
  /** How an in-place Kubernetes upgrade takes nodes out (phases/upgrade.ts). */
  readonly upgrade?: UpgradeOptions;
}

/** Options of an in-place Kubernetes upgrade. */
export interface UpgradeOptions {
  /** Workers drained and upgraded at once. @default 1 */
  readonly maxUnavailable?: number;
  /** How long a drain may wait for pods to leave (PodDisruptionBudgets). @default 300000 */
  readonly drainTimeoutMs?: number;
  /** How long an upgraded node may take to be Ready again. @default 300000 */
  readonly readyTimeoutMs?: number;
}

/** needsRestart marks a unit on a node to be restarted by a later phase. */
export function needsRestart(ctx: PhaseContext, node: string, unit: string): void {
  const units = ctx.restart.get(node) ?? new Set<string>();
  units.add(unit);
  ctx.restart.set(node, units);
}

/** A step of `up`. Only `title` and `run` are required. */
export interface Phase {
  readonly title: string;
  /** shouldRun is false when the phase has nothing to do for this plan. */
  shouldRun?(ctx: PhaseContext): boolean;
  run(ctx: PhaseContext): Promise<void>;
}

/**
 * change records a change on a node and, unless this is a dry run, makes it. Phases call it
 * only after deciding from facts that the node differs, so an unchanged node records nothing.
 */
export async function change(ctx: PhaseContext, node: string, what: string, fn: () => Promise<unknown>): Promise<void> {
  ctx.changes.push({ node, what });
  ctx.log(`${node}: ${ctx.dryRun ? "would " : ""}${what}`);
  if (!ctx.dryRun) await fn();
}

/**
 * eachNode runs `fn` on every node of the plan (with its connection and facts), or on the
 * nodes `only` keeps, in parallel with a limit (`concurrency: 1` for one at a time).
 */
export async function eachNode(
  ctx: PhaseContext,
  fn: (node: Plan["nodes"][number], remote: Remote, facts: NodeFacts) => Promise<void>,
  opts: { only?: (node: Plan["nodes"][number]) => boolean; concurrency?: number } = {},
): Promise<void> {
  await forEachHost(
    opts.only ? ctx.plan.nodes.filter(opts.only) : ctx.plan.nodes,
    (n) => n.name,
    async (n) => {
      const remote = ctx.hosts.get(n.name);
      const facts = ctx.facts.get(n.name);
      if (!remote || !facts) throw new Error(`${n.name}: no connection or facts (gather facts first)`);
      await fn(n, remote, facts);
    },
    { concurrency: opts.concurrency ?? ctx.concurrency, signal: ctx.signal },
  );
}

/** Progress reporting for phases: start a title, end it with ok or failed. */
export interface Status {
  /** start opens a step; `nodes` are the nodes it works on (a live line each, on a terminal). */
  start(title: string, nodes?: readonly string[]): void;
  /** end closes the current step; `perNode` counts the changes it made on each node. */
  end(ok: boolean, perNode?: ReadonlyMap<string, number>): void;
}

/** runPhases runs phases in order, skipping those that say they have nothing to do. */
export async function runPhases(phases: readonly Phase[], ctx: PhaseContext, status: Status): Promise<void> {
  for (const phase of phases) {
    if (phase.shouldRun && !phase.shouldRun(ctx)) continue;
    status.start(phase.title, [...ctx.hosts.keys()]);
    const before = ctx.changes.length;
    try {
      await phase.run(ctx);
    } catch (e) {
      status.end(false);
      throw e;
    }
    const made = ctx.changes.slice(before);
    const perNode = new Map<string, number>();
    for (const n of ctx.plan.nodes) {
      const count = made.filter((c) => c.node === n.name).length;
      if (count > 0) perNode.set(n.name, count);
    }
    status.end(true, perNode);
  }
}
