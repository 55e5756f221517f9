/**
 * What a dry run of up checks before it can say what would change: the same things a real
 * up would stop at. The provider's host checks (vagrant: vagrant itself, the hypervisor, the
 * network, memory), existing hosts that do not answer on their SSH port, and running machines
 * whose SSH login fails (authentication, a changed host key, a handshake that never comes).
 */
import { UserError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import type { HostProblem, Machine, MachineProvider, ProviderContext } from "../providers/types.js";
import { HostsError } from "../remote/hosts.js";
import type { Remote } from "../remote/types.js";

/** UpProblem is something that stops up, with the node it is about when it is about one. */
export interface UpProblem extends HostProblem {
  readonly node?: string;
}

/** unreachableProblem is an existing host that did not answer on its SSH port, with the reason. */
export function unreachableProblem(m: Machine): UpProblem {
  return {
    id: "host.unreachable",
    node: m.node,
    message: `${m.node} is unreachable: ${m.reason ?? "it does not answer"}`,
    fix: "start the host (or its sshd), or correct its address, port or jump host in the cluster file",
  };
}

/** connectProblems is every node the SSH connection failed to, with why and, when known, the fix. */
export function connectProblems(e: HostsError): UpProblem[] {
  return e.failures.map(({ host, error }) => {
    const why = error instanceof Error ? error.message : String(error);
    return {
      id: "host.ssh",
      node: host,
      message: why.startsWith(`${host}: `) ? why : `${host}: ${why}`,
      fix:
        error instanceof UserError && error.hint
          ? error.hint
          : "check that sshd runs on the node and that the user and key in the cluster file are right (kubelab ssh NODE tries the same login)",
    };
  });
}

/** What {@link dryRunChecks} found: the problems, and the connections to the running machines. */
export interface DryRunChecks {
  readonly problems: readonly UpProblem[];
  /** Open connections to every running machine (none when one of them failed); the caller closes them. */
  readonly hosts: Map<string, Remote>;
}

/**
 * dryRunChecks runs the provider's host checks for the machines it would make, reports the
 * unreachable existing hosts, and logs in to every running machine, so that each problem a
 * real up would meet is found at once.
 */
export async function dryRunChecks(
  plan: Plan,
  found: readonly Machine[],
  opts: {
    provider: MachineProvider;
    ctx: ProviderContext;
    /** Connects to the given plan's nodes (connectAll with up's options). */
    connect: (plan: Plan) => Promise<Map<string, Remote>>;
  },
): Promise<DryRunChecks> {
  const problems: UpProblem[] = [...((await opts.provider.check?.(plan, found, opts.ctx)) ?? [])];
  problems.push(...found.filter((m) => m.state === "unreachable").map(unreachableProblem));
  const running = new Set(found.filter((m) => m.state === "running").map((m) => m.node));
  try {
    const hosts = await opts.connect({ ...plan, nodes: plan.nodes.filter((n) => running.has(n.name)) });
    return { problems, hosts };
  } catch (e) {
    if (!(e instanceof HostsError)) throw e;
    return { problems: [...problems, ...connectProblems(e)], hosts: new Map() };
  }
}
