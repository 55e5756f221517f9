/**
 * The ssh provider: existing hosts, reached as the file says. kubelab neither creates nor
 * deletes them; `list` reports whether each answers on its SSH port (`create` is the same).
 */
import { connect as tcpConnect } from "node:net";
import type { Plan, PlanSshHost } from "../plan/types.js";
import { connectAll, hostKeyPolicy } from "../remote/connect-all.js";
import { forEachHost } from "../remote/hosts.js";
import type { Remote, SshEndpoint } from "../remote/types.js";
import { PLAIN_NODE } from "../render/node-environment.js";
import type { Machine, MachineProvider, ProviderContext } from "./types.js";

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

/**
 * The commands that stop the cluster on an existing host, in order: kubelet first (or it
 * would start the pods again), then every pod sandbox with its containers (containerd's
 * shims outlive containerd itself), then containerd. The host and its other services stay.
 */
export const SSH_STOP_COMMANDS: readonly (readonly string[])[] = [
  ["systemctl", "stop", "kubelet"],
  ["sh", "-c", 'ids=$(crictl pods -q 2>/dev/null) || exit 0; [ -z "$ids" ] || crictl stopp $ids >/dev/null'],
  ["systemctl", "stop", "containerd"],
];

/** The command that starts the cluster on an existing host again: kubelet then starts the pods. */
export const SSH_START_COMMAND: readonly string[] = ["systemctl", "start", "containerd", "kubelet"];

/** How the ssh provider reaches the hosts it stops and starts; tests pass fake nodes. */
export type SshConnector = (plan: Plan, ctx: ProviderContext) => Promise<Map<string, Remote>>;

const connectHosts: SshConnector = async (plan, ctx) =>
  connectAll(plan, await list(plan), {
    clusterDir: ctx.clusterDir,
    policy: hostKeyPolicy(),
    concurrency: 8,
    signal: ctx.signal,
  });

/** onHosts runs `fn` on each named host, connected for it, then closes the connections. */
async function onHosts(
  plan: Plan,
  nodes: readonly string[],
  ctx: ProviderContext,
  connect: SshConnector,
  fn: (remote: Remote) => Promise<void>,
): Promise<void> {
  const some = { ...plan, nodes: plan.nodes.filter((n) => nodes.includes(n.name)) };
  if (some.nodes.length === 0) return;
  const hosts = await connect(some, ctx);
  try {
    await forEachHost([...hosts.values()], (h) => h.node, fn, { concurrency: 8, signal: ctx.signal });
  } finally {
    await Promise.all([...hosts.values()].map((h) => h.close().catch(() => {})));
  }
}

/** createSshProvider makes the ssh provider; tests pass how it connects. */
export function createSshProvider(connect: SshConnector = connectHosts): MachineProvider {
  return {
    name: "ssh",
    // Existing hosts may be anything; their facts tell once kubelab reaches them.
    nodeEnvironment: PLAIN_NODE,
    create: (plan) => list(plan),
    list: (plan) => list(plan),
    stop: (plan, nodes, ctx) =>
      onHosts(plan, nodes, ctx, connect, async (remote) => {
        for (const argv of SSH_STOP_COMMANDS) await remote.run(argv, { timeoutMs: 120_000 });
        ctx.log(`${remote.node}: kubelet, the pods and containerd stopped; the host itself stays up`);
      }),
    start: (plan, nodes, ctx) =>
      onHosts(plan, nodes, ctx, connect, async (remote) => {
        await remote.run(SSH_START_COMMAND, { timeoutMs: 120_000 });
        ctx.log(`${remote.node}: containerd and kubelet started`);
      }),
    // Existing hosts stay; the cluster on them is reset by `kubelab down` through kubeadm, and a
    // node taken out of the file by `kubelab up --prune`: no `remove`, there is no machine to take.
    destroy: async () => {},
    logs: async (_plan, node) =>
      `${node} is an existing host: kubelab has no console log for it (journalctl on the host has it)`,
  };
}

/** The ssh provider. */
export const sshProvider: MachineProvider = createSshProvider();
