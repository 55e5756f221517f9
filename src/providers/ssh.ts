/**
 * The ssh provider: existing hosts, reached as the file says. kubelab neither creates nor
 * deletes them; `list` reports whether each answers on its SSH port (`create` is the same).
 */
import { connect as tcpConnect } from "node:net";
import type { Plan, PlanSshHost } from "../plan/types.js";
import type { SshEndpoint } from "../remote/types.js";
import { PLAIN_NODE } from "../render/node-environment.js";
import type { Machine, MachineProvider } from "./types.js";

function endpoint(h: PlanSshHost): SshEndpoint {
  return {
    host: h.address,
    port: h.port,
    user: h.user,
    privateKeyPath: h.key,
    jump: h.jump && { host: h.jump.address, port: h.jump.port, user: h.jump.user, privateKeyPath: h.jump.key },
  };
}

function hosts(plan: Plan): readonly PlanSshHost[] {
  return plan.provider.name === "ssh" ? plan.provider.hosts : [];
}

/** unreachable connects to the SSH port: undefined when it answers, else why not. */
export function unreachable(host: string, port: number, timeoutMs = 3000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port, timeout: timeoutMs });
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.once("connect", () => done(undefined));
    socket.once("timeout", () => done(`no answer from ${host}:${port} within ${timeoutMs / 1000} s`));
    socket.once("error", (e: NodeJS.ErrnoException) => done(`${e.code ?? e.message} from ${host}:${port}`));
  });
}

// An existing host is never "stopped" nor made: it answers ("running"), or it is unreachable and the reason says why.
async function list(plan: Plan): Promise<Machine[]> {
  return Promise.all(
    hosts(plan).map(async (h) => {
      // Through a jump host the target cannot be probed directly; the SSH connection will tell.
      const reason = h.jump ? undefined : await unreachable(h.address, h.port);
      return reason === undefined
        ? ({ node: h.node, state: "running", endpoint: endpoint(h) } satisfies Machine)
        : ({ node: h.node, state: "unreachable", endpoint: endpoint(h), reason } satisfies Machine);
    }),
  );
}

/** The ssh provider. */
export const sshProvider: MachineProvider = {
  name: "ssh",
  // Existing hosts may be anything; their facts tell once kubelab reaches them.
  nodeEnvironment: PLAIN_NODE,
  create: (plan) => list(plan),
  list: (plan) => list(plan),
  // Existing hosts stay; the cluster on them is reset by `kubelab down` through kubeadm, and a
  // node taken out of the file by `kubelab up --prune`: no `remove`, there is no machine to take.
  destroy: async () => {},
  logs: async (_plan, node) =>
    `${node} is an existing host: kubelab has no console log for it (journalctl on the host has it)`,
};
