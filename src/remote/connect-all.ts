/**
 * Connecting to every node of a plan at once, with host keys checked against the cluster's
 * known_hosts: what `up`, `down`, bake and doctor do before they run anything on the nodes.
 */
import { UserError } from "../errors.js";
import { clusterPaths } from "../plan/cluster-dir.js";
import type { Plan } from "../plan/types.js";
import { forEachHost } from "./hosts.js";
import { checkKnownHosts, type HostKeyPolicy } from "./known-hosts.js";
import { connect } from "./ssh.js";
import type { Remote, SshEndpoint } from "./types.js";

/**
 * hostKeyPolicy: a host's key is recorded on first contact (machines kubelab made, and
 * existing hosts alike); a key that changes later is refused unless the user accepts it.
 */
export function hostKeyPolicy(acceptNew = false): HostKeyPolicy {
  return acceptNew ? "accept-new" : "trust-on-first-use";
}

/**
 * A machine as connectAll needs it: its node and, when it runs, where to reach it. A
 * provider's Machine is one; naming only these fields keeps remote free of providers.
 */
export interface ReachableMachine {
  readonly node: string;
  readonly endpoint?: SshEndpoint;
}

/** connectAll opens one SSH connection per node, verifying host keys against the cluster's known_hosts. */
export async function connectAll(
  plan: Plan,
  machines: readonly ReachableMachine[],
  opts: {
    clusterDir: string;
    policy: HostKeyPolicy;
    concurrency: number;
    signal?: AbortSignal;
    /** One attempt's limit, and how often a failed one is retried (see connect). */
    connectTimeoutMs?: number;
    retries?: number;
  },
): Promise<Map<string, Remote>> {
  const knownHosts = clusterPaths(opts.clusterDir).knownHosts;
  await checkKnownHosts(knownHosts);
  const byNode = new Map(machines.map((m) => [m.node, m]));
  const hosts = new Map<string, Remote>();
  try {
    await forEachHost(
      plan.nodes,
      (n) => n.name,
      async (n) => {
        const endpoint = byNode.get(n.name)?.endpoint;
        if (!endpoint)
          throw new UserError(`${n.name}: machine is not running`, { exitCode: 1, hint: "run kubelab up" });
        hosts.set(
          n.name,
          await connect(n.name, endpoint, {
            knownHostsFile: knownHosts,
            hostKeyPolicy: opts.policy,
            connectTimeoutMs: opts.connectTimeoutMs,
            retries: opts.retries,
            signal: opts.signal,
          }),
        );
      },
      { concurrency: opts.concurrency, signal: opts.signal },
    );
  } catch (e) {
    await Promise.all([...hosts.values()].map((h) => h.close().catch(() => {})));
    throw e;
  }
  // In the plan's order, not the order the connections came up: what is printed per node stays put.
  return new Map(plan.nodes.flatMap((n) => (hosts.has(n.name) ? [[n.name, hosts.get(n.name) as Remote]] : [])));
}
