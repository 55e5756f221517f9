/**
 * The ssh provider: existing hosts, reached as the file says. kubelab neither creates nor
 * deletes them; `list` reports whether each answers on its SSH port.
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

function reachable(host: string, port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("timeout", () => done(false));
    socket.once("error", () => done(false));
  });
}

async function list(plan: Plan): Promise<Machine[]> {
  return Promise.all(
    hosts(plan).map(async (h) => {
      // Through a jump host the target cannot be probed directly; the SSH connection will tell.
      const up = h.jump ? true : await reachable(h.address, h.port);
      return { node: h.node, state: up ? "running" : "stopped", endpoint: endpoint(h) } satisfies Machine;
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
  // Existing hosts stay; the cluster on them is reset by `kubelab down` through kubeadm.
  destroy: async () => {},
  logs: async (_plan, node) =>
    `${node} is an existing host: kubelab has no console log for it (journalctl on the host has it)`,
};
