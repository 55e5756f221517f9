/** `kubelab status`: each node's machine, address, and what a `kubelab up` would still change on it. */
import type { PackageSource } from "../artifacts/package-source.js";
import type { Plan } from "../plan/types.js";
import type { MachineProvider } from "../providers/types.js";
import { up } from "./up.js";

/** One node's state as `kubelab status` shows it. */
export interface NodeStatus {
  readonly node: string;
  readonly role: string;
  readonly ip: string;
  /** Existing hosts (ssh provider) are reachable or not; machines kubelab makes run, stop or are absent. */
  readonly machine: "running" | "stopped" | "absent" | "reachable" | "unreachable";
  /** Why an existing host cannot be reached, or why kubelab cannot log in to a node. */
  readonly reason?: string;
  /** Whether node preparation has nothing left to do; undefined when the machine is not running. */
  readonly prepared?: boolean;
  /** Changes a `kubelab up` would make on this node. */
  readonly pending?: number;
}

/**
 * clusterStatus asks the provider for the machines, and, when all of them run, runs the
 * preparation phases as a dry run: a node is prepared when they would change nothing on it.
 */
export async function clusterStatus(
  plan: Plan,
  opts: { provider: MachineProvider; packages: PackageSource; clusterDir: string },
): Promise<NodeStatus[]> {
  const machines = await opts.provider.list(plan, { clusterDir: opts.clusterDir, log: () => {} });
  const state = new Map(machines.map((m) => [m.node, m.state]));
  const reason = new Map(machines.map((m) => [m.node, m.reason]));
  const existing = opts.provider.name === "ssh";
  const allRunning = plan.nodes.every((n) => state.get(n.name) === "running");
  const pending = new Map<string, number>();
  let known = false;
  if (allRunning) {
    const result = await up(plan, { ...opts, dryRun: true, log: () => {}, status: { start() {}, end() {} } });
    // A node kubelab cannot log in to has no known state: its reason says why.
    for (const p of result.problems) if (p.node && !reason.get(p.node)) reason.set(p.node, p.message);
    known = result.problems.length === 0;
    for (const c of result.changes) pending.set(c.node, (pending.get(c.node) ?? 0) + 1);
  }
  return plan.nodes.map((n) => ({
    node: n.name,
    role: n.role,
    ip: n.ip,
    machine: existing
      ? state.get(n.name) === "running"
        ? "reachable"
        : "unreachable"
      : (state.get(n.name) ?? "absent"),
    ...(reason.get(n.name) ? { reason: reason.get(n.name) } : {}),
    ...(known ? { prepared: !pending.has(n.name), pending: pending.get(n.name) ?? 0 } : {}),
  }));
}
