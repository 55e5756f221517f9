/**
 * The nspawn machine provider: every node is a systemd-nspawn container on this host,
 * booted from a Debian image (image.ts), on a per-cluster bridge (network.ts), in its own
 * cgroups (cgroups.ts). Needs root. The cluster's state lives on the machines
 * (/var/lib/kubelab/nspawn/<cluster>/<node>/rootfs/etc/kubelab/node.json) and in the
 * running processes: nothing else is recorded.
 */
import { existsSync } from "node:fs";
import { readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../../errors.js";
import { clusterPaths, ensureClusterDir } from "../../plan/cluster-dir.js";
import type { Plan, PlanNode } from "../../plan/types.js";
import { setHostKeys } from "../../remote/known-hosts.js";
import type { SshEndpoint } from "../../remote/types.js";
import type { NodeEnvironment } from "../../render/node-environment.js";
import type { Machine, MachineProvider, ProviderContext, StopOptions } from "../types.js";
import { bakedImageLinked, bakedImageRoot, findBakedImage } from "./baked-images.js";
import { detectHost, type HostMode, removeNodeCgroups } from "./cgroups.js";
import { requireTools, run, tryRun, unmountUnder } from "./host.js";
import { ensureImage, imageDir } from "./image.js";
import {
  clusterRoot,
  killLeftovers,
  launch,
  type NodeImage,
  nodeHostKeys,
  nodePaths,
  nspawnPid,
  nspawnProcesses,
  provisionNode,
  readLabel,
  startedName,
  stopMachine,
  tail,
  waitForSsh,
} from "./machine.js";
import { ensureBridge, removeBridge } from "./network.js";
import { nspawnSnapshots, removeAllSnapshots } from "./snapshots.js";

/** nspawn's complaint when the veth of the node's previous run is not gone yet, and how often to start again. */
const VETH_EXISTS = /Failed to add new veth interfaces[^\n]*File exists/;
const VETH_RETRIES = 5;

/** How long a node may take from nspawn's start to sshd answering (measured: ~2 s). */
const SSH_TIMEOUT_MS = 120_000;

/** Tools the provider runs, and the Debian packages they come from. */
const TOOLS: Record<string, string> = {
  "systemd-nspawn": "systemd-container",
  "systemd-id128": "systemd",
  systemctl: "systemd",
  ip: "iproute2",
  "ssh-keygen": "openssh-client",
};

function release(plan: Plan): string {
  if (plan.provider.name !== "nspawn") throw new Error(`nspawn provider given a ${plan.provider.name} plan`);
  return plan.provider.release;
}

function planNode(plan: Plan, name: string): PlanNode {
  const node = plan.nodes.find((n) => n.name === name);
  if (!node) throw new UserError(`no node named ${name} in cluster ${plan.name}`);
  return node;
}

/** The cluster's SSH key, made on first use: root on every node accepts it. */
function keyPath(ctx: ProviderContext): string {
  return clusterPaths(ctx.clusterDir).key;
}

async function ensureClusterKey(plan: Plan, ctx: ProviderContext): Promise<string> {
  const key = keyPath(ctx);
  if (!existsSync(key)) {
    await ensureClusterDir(ctx.clusterDir);
    ctx.log(`generating the cluster SSH key ${key}`);
    await rm(`${key}.pub`, { force: true });
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `kubelab-${plan.name}`, "-f", key]);
  }
  return readFile(`${key}.pub`, "utf8");
}

/**
 * Kernel settings kubelet writes at start and treats failure as fatal; /proc/sys is
 * read-only in the node, so they are preset on the host. This changes the host (as kind
 * does): overcommit is allowed, and a kernel oops panics and reboots the host after 10 s.
 */
const HOST_SYSCTLS: Readonly<Record<string, string>> = {
  "vm/overcommit_memory": "1",
  "kernel/panic": "10",
  "kernel/panic_on_oops": "1",
};

/**
 * Host limits every node's systemd, containerd and kubelet draw from together (inotify
 * instances and watches are counted per user, and every node's root is the host's root):
 * the kernel's defaults (128 instances) run out at about six nodes, and kubelet then fails
 * with "inotify_init: too many open files". Raised to these when lower, never lowered (the
 * values kind recommends for many nodes).
 */
const HOST_MINIMUMS: Readonly<Record<string, number>> = {
  "fs/inotify/max_user_instances": 512,
  "fs/inotify/max_user_watches": 524288,
};

async function presetSysctls(log: (line: string) => void): Promise<void> {
  for (const [key, value] of Object.entries(HOST_SYSCTLS)) {
    const path = `/proc/sys/${key}`;
    const now = (await readFile(path, "utf8")).trim();
    if (now === value) continue;
    log(
      `setting host sysctl ${key.replaceAll("/", ".")}=${value} (was ${now}; kubelet needs it and nodes cannot set it)`,
    );
    await writeFile(path, value);
  }
  for (const [key, least] of Object.entries(HOST_MINIMUMS)) {
    const path = `/proc/sys/${key}`;
    const now = Number((await readFile(path, "utf8").catch(() => "")).trim());
    if (!Number.isFinite(now) || now >= least) continue;
    log(
      `raising host sysctl ${key.replaceAll("/", ".")} to ${least} (was ${now}; every node's kubelet and containerd use it)`,
    );
    await writeFile(path, String(least));
  }
}

function endpoint(ip: string, ctx: ProviderContext): SshEndpoint {
  return { host: ip, port: 22, user: "root", privateKeyPath: keyPath(ctx) };
}

/** The node directories that exist for the cluster (whether or not the plan still has them). */
async function nodeDirs(cluster: string): Promise<string[]> {
  const entries = await readdir(clusterRoot(cluster), { withFileTypes: true }).catch(() => []);
  // Not .snapshots (snapshots.ts): node names never start with a dot.
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort();
}

async function machineOf(plan: Plan, node: string, ctx: ProviderContext): Promise<Machine> {
  const label = await readLabel(nodePaths(plan.name, node));
  if (!label) return { node, state: "absent" };
  if (nspawnPid(plan.name, node) === undefined) return { node, state: "stopped" };
  return { node, state: "running", endpoint: endpoint(label.ip, ctx) };
}

async function list(plan: Plan, ctx: ProviderContext): Promise<Machine[]> {
  const names = [...plan.nodes.map((n) => n.name)];
  for (const d of await nodeDirs(plan.name)) if (!names.includes(d)) names.push(d);
  return Promise.all(names.map((n) => machineOf(plan, n, ctx)));
}

/**
 * boot provisions (when new) and boots the given nodes, then waits until each answers SSH.
 * What a host reboot takes away comes back here: the bridge and its gateway address, the
 * preset sysctls, the node's cgroups; the node keeps its address (host0's .network file).
 */
async function boot(
  plan: Plan,
  nodes: readonly PlanNode[],
  ctx: ProviderContext,
  mode: HostMode,
  opts: NspawnProviderOptions,
): Promise<void> {
  if (nodes.length === 0) return;
  const publicKey = await ensureClusterKey(plan, ctx);
  const needImage = nodes.some((n) => !existsSync(join(nodePaths(plan.name, n.name).rootfs, "etc/os-release")));
  const baked = needImage && opts.bakedImages !== false ? await findBakedImage(plan) : undefined;
  if (baked) ctx.log(`new nodes come from the baked node image ${baked.key.slice(0, 12)} (made ${baked.created})`);
  const image: NodeImage = baked
    ? {
        root: bakedImageRoot(baked.key),
        ...(existsSync(bakedImageLinked(baked.key)) ? { linked: bakedImageLinked(baked.key) } : {}),
      }
    : {
        root: needImage
          ? await ensureImage({ release: release(plan), log: ctx.log })
          : join(imageDir(release(plan)), "rootfs"),
      };
  await presetSysctls(ctx.log);
  const bridge = await ensureBridge(plan, ctx.log);
  const started = Date.now();
  await Promise.all(
    nodes.map(async (n) => {
      // A node whose nspawn was killed may still be running without it: clear that first.
      await killLeftovers(plan.name, n.name, mode);
      await provisionNode(plan, n, image, publicKey, bridge);
      await recordHostKeys(plan, n, ctx);
      ctx.log(`starting ${n.name} (${n.ip})`);
      await launch(plan, n, bridge, mode);
    }),
  );
  await Promise.all(
    nodes.map(async (n) => {
      // A node powered off at once (its root is replaced next) may leave its veth pair to the
      // kernel for a moment: nspawn then fails with "File exists". Start it again shortly.
      for (let attempt = 1; ; attempt++) {
        try {
          return await waitForSsh(plan.name, n, SSH_TIMEOUT_MS, ctx.signal);
        } catch (e) {
          if (attempt >= VETH_RETRIES || !VETH_EXISTS.test(String(e))) throw e;
          ctx.log(`${n.name}: its previous network link was still there; starting it again`);
          await new Promise((r) => setTimeout(r, 1_000));
          await killLeftovers(plan.name, n.name, mode);
          await launch(plan, n, bridge, mode);
        }
      }
    }),
  );
  ctx.log(`${nodes.map((n) => n.name).join(", ")} up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * recordHostKeys puts a node's host keys, which kubelab generated itself, into the cluster's
 * known_hosts before its first boot: the first connection is checked like every later one
 * (no trust on first use), and `kubelab ssh --strict-host-keys` works from the start. A
 * re-created node replaces the keys of the one before it at that address.
 */
async function recordHostKeys(plan: Plan, node: PlanNode, ctx: ProviderContext): Promise<void> {
  const keys = await nodeHostKeys(plan.name, node.name);
  if (keys.length > 0) await setHostKeys(clusterPaths(ctx.clusterDir).knownHosts, node.ip, 22, keys);
}

/** create, with the provider's options. */
async function create(plan: Plan, ctx: ProviderContext, opts: NspawnProviderOptions): Promise<Machine[]> {
  const rel = release(plan);
  requireTools({ ...TOOLS, ...(existsSync(join(imageDir(rel), "rootfs")) ? {} : { debootstrap: "debootstrap" }) });
  const mode = detectHost();
  const toStart = plan.nodes.filter((n) => nspawnPid(plan.name, n.name) === undefined);
  await boot(plan, toStart, ctx, mode, opts);
  return list(plan, ctx);
}

/** powerOff powers a node off (its directory stays), and cleans up its cgroups. */
async function powerOff(
  plan: Plan,
  node: string,
  ctx: ProviderContext,
  mode: HostMode,
  opts: StopOptions = {},
): Promise<void> {
  const dir = nodePaths(plan.name, node).dir;
  const pids = new Set([nspawnPid(plan.name, node), ...nspawnProcesses(dir)].filter((p) => p !== undefined));
  for (const pid of pids) {
    ctx.log(`stopping ${node}${opts.discard ? " (at once: its state is replaced next)" : ""}`);
    await stopMachine(plan.name, node, pid, mode, ctx.log, opts.discard ? 0 : undefined);
  }
  await killLeftovers(plan.name, node, mode);
  await removeNodeCgroups(mode, startedName(plan.name, node));
}

/** removeMachine stops a node and removes its directory, root file system and all. */
async function removeMachine(plan: Plan, node: string, ctx: ProviderContext, mode: HostMode): Promise<void> {
  await powerOff(plan, node, ctx, mode);
  const dir = nodePaths(plan.name, node).dir;
  // Never recurse into something still mounted (a bind mount would take the host's files along).
  await unmountUnder(dir);
  await rm(dir, { recursive: true, force: true });
}

/** removeMachines removes `nodes`, every one attempted even when one fails; the failures are reported together. */
async function removeMachines(plan: Plan, nodes: readonly string[], ctx: ProviderContext): Promise<void> {
  const mode = detectHost();
  const started = Date.now();
  const results = await Promise.allSettled(nodes.map((n) => removeMachine(plan, n, ctx, mode)));
  const failed = results.flatMap((r, i) => (r.status === "rejected" ? [`${nodes[i]}: ${String(r.reason)}`] : []));
  if (failed.length > 0) throw new Error(`could not remove every node of ${plan.name}:\n${failed.join("\n")}`);
  if (nodes.length > 0) ctx.log(`removed ${nodes.join(", ")} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function destroy(plan: Plan, ctx: ProviderContext): Promise<void> {
  await removeMachines(plan, await nodeDirs(plan.name), ctx);
  await removeAllSnapshots(plan.name);
  await rmdir(clusterRoot(plan.name)).catch(() => {});
  await removeBridge(plan.name);
}

/** remove takes the machines of nodes that left the plan; the cluster's bridge and other nodes stay. */
async function remove(plan: Plan, nodes: readonly string[], ctx: ProviderContext): Promise<void> {
  const existing = new Set(await nodeDirs(plan.name));
  await removeMachines(
    plan,
    nodes.filter((n) => existing.has(n)),
    ctx,
  );
}

async function logs(plan: Plan, node: string, _ctx: ProviderContext): Promise<string> {
  const p = nodePaths(plan.name, node);
  const parts: string[] = [];
  const console = await tail(p.console, 100);
  if (console) parts.push(`--- console (${p.console}) ---\n${console}`);
  const journal = join(p.rootfs, "var/log/journal");
  if (existsSync(journal)) {
    const out = await tryRun("journalctl", ["-D", journal, "-n", "100", "--no-pager", "-q"], { timeoutMs: 30_000 });
    if (out?.trim()) parts.push(`--- journal (${journal}) ---\n${out.trimEnd()}`);
  }
  return parts.join("\n");
}

/**
 * Nodes are containers on this host's kernel. Whether the host is on cgroup v1 is left to
 * the facts gathered on each node.
 */
const nodeEnvironment: NodeEnvironment = { container: true, cgroupV1: false };

/** stopMachines powers the running ones of `nodes` off, all at once (the caller orders the roles). */
async function stopMachines(
  plan: Plan,
  nodes: readonly string[],
  ctx: ProviderContext,
  opts: StopOptions = {},
): Promise<void> {
  // Signalling the nodes' processes needs root: say so rather than wait for them in vain.
  requireTools(TOOLS);
  const mode = detectHost();
  await Promise.all(
    nodes.filter((n) => nspawnPid(plan.name, n) !== undefined).map((n) => powerOff(plan, n, ctx, mode, opts)),
  );
}

/**
 * startMachines boots the stopped ones of `nodes` as `create` boots them (bridge, sysctls,
 * cgroups, host keys), after a host reboot too; a node that has no machine is refused.
 */
async function startMachines(
  plan: Plan,
  nodes: readonly string[],
  ctx: ProviderContext,
  opts: NspawnProviderOptions,
): Promise<void> {
  requireTools(TOOLS);
  const machines = await Promise.all(nodes.map((n) => machineOf(plan, n, ctx)));
  const absent = machines.filter((m) => m.state === "absent").map((m) => m.node);
  if (absent.length > 0)
    throw new UserError(`${absent.join(", ")} of cluster ${plan.name} has no machine to start`, {
      hint: "kubelab up makes the missing machines",
    });
  const stopped = machines.filter((m) => m.state === "stopped").map((m) => planNode(plan, m.node));
  await boot(plan, stopped, ctx, detectHost(), opts);
}

/** Options of {@link createNspawnProvider}. */
export interface NspawnProviderOptions {
  /**
   * New nodes are copies of the plan's baked node image when there is one (`kubelab image
   * bake`), else of the base image. @default true
   */
  readonly bakedImages?: boolean;
}

/** createNspawnProvider makes the nspawn provider; {@link nspawnProvider} is it with the defaults. */
export function createNspawnProvider(opts: NspawnProviderOptions = {}): MachineProvider {
  return {
    name: "nspawn",
    nodeEnvironment,
    create: (plan, ctx) => create(plan, ctx, opts),
    list,
    stop: stopMachines,
    start: (plan, nodes, ctx) => startMachines(plan, nodes, ctx, opts),
    destroy,
    remove,
    logs,
    snapshot: nspawnSnapshots,
  };
}

export const nspawnProvider: MachineProvider = createNspawnProvider();

/** stopNode powers one node off, keeping its machine: list() then reports it stopped (fault tests). */
export async function stopNode(plan: Plan, node: string, ctx: ProviderContext): Promise<void> {
  planNode(plan, node);
  await powerOff(plan, node, ctx, detectHost());
}

/** startNode boots one node again (or creates it when absent) and waits for SSH. */
export async function startNode(plan: Plan, node: string, ctx: ProviderContext): Promise<Machine> {
  const n = planNode(plan, node);
  requireTools(TOOLS);
  if (nspawnPid(plan.name, node) === undefined) await boot(plan, [n], ctx, detectHost(), {});
  return machineOf(plan, node, ctx);
}
