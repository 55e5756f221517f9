/**
 * The vagrant machine provider: every node is a VM that vagrant makes from the cluster's
 * Vagrantfile (render/vagrantfile.ts) in the cluster directory, on VirtualBox or libvirt.
 * What exists is what vagrant says (`vagrant status`), how to reach it what `vagrant
 * ssh-config` says; kubelab keeps no state of its own beside the Vagrantfile.
 */
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { UserError } from "../../errors.js";
import { clusterPaths, ensureClusterDir } from "../../plan/cluster-dir.js";
import type { Plan } from "../../plan/types.js";
import { forgetHost } from "../../remote/known-hosts.js";
import { PLAIN_NODE } from "../../render/node-environment.js";
import { renderVagrantfile } from "../../render/vagrantfile.js";
import type {
  HostProblem,
  Machine,
  MachineProvider,
  MachineSnapshots,
  ProviderContext,
  SnapshotDisk,
  StopOptions,
} from "../types.js";
import { findBakedBox, withBox } from "./baked-boxes.js";
import { runVagrant, type VagrantRunOptions, vagrantPaths } from "./cli.js";
import { vagrantHostError, vagrantHostProblems } from "./host-checks.js";
import { machineState, parseStatus, splitVagrantLine } from "./parse-output.js";
import { parseSshConfig, sshEndpoint, type VagrantSshConfig } from "./ssh-config.js";

/** `vagrant status` and `ssh-config` read every machine's state from the hypervisor: seconds, unless it hangs. */
const QUERY_TIMEOUT_MS = 120_000;
const DESTROY_TIMEOUT_MS = 15 * 60_000;
const LOGS_TIMEOUT_MS = 60_000;
/** A guest that ignores the shutdown request is forced off by vagrant itself after its own timeout; this is the backstop. */
const HALT_TIMEOUT_MS = 10 * 60_000;
/** What `logs` runs on a node (as user vagrant, who has passwordless sudo). */
const JOURNAL = "sudo journalctl -b -n 100 --no-pager";

/** Options of {@link createVagrantProvider}. */
export interface VagrantProviderOptions {
  /**
   * Checks the host for the machines about to be made (create, and a dry run) and returns
   * the problems. @default vagrantHostProblems
   */
  readonly checkHost?: (plan: Plan, ctx: ProviderContext) => Promise<HostProblem[]>;
  /** The environment vagrant starts from (VAGRANT_HOME, LIBVIRT_DEFAULT_URI...). @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** New machines come from the plan's baked box when there is one (`kubelab image bake`). @default true */
  readonly bakedBoxes?: boolean;
  /** How vagrant is run (tests record the commands instead). @default runVagrant */
  readonly runVagrant?: typeof runVagrant;
}

function hypervisor(plan: Plan): "virtualbox" | "libvirt" {
  if (plan.provider.name !== "vagrant") throw new Error(`vagrant provider given a ${plan.provider.name} plan`);
  return plan.provider.hypervisor;
}

const nodeNames = (plan: Plan) => plan.nodes.map((n) => n.name);
/** The plan's nodes whose machine is not running: the ones create starts. */
const toStart = (plan: Plan, machines: readonly Machine[]) =>
  nodeNames(plan).filter((n) => machines.find((m) => m.node === n)?.state !== "running");
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** writeVagrantfile writes the plan's Vagrantfile into the cluster directory, only when its text changed. */
async function writeVagrantfile(plan: Plan, ctx: ProviderContext): Promise<void> {
  const path = vagrantPaths(ctx.clusterDir).vagrantfile;
  const text = renderVagrantfile(plan);
  if ((await readFile(path, "utf8").catch(() => undefined)) === text) return;
  await ensureClusterDir(ctx.clusterDir);
  await writeFile(path, text);
  ctx.log(`wrote ${path}`);
}

/**
 * refuseStrays stops a create that would rewrite the Vagrantfile without VMs that still exist:
 * vagrant would no longer know them, and nothing could remove them.
 */
function refuseStrays(plan: Plan, machines: readonly Machine[]): void {
  const strays = machines.filter((m) => m.state !== "absent" && !plan.nodes.some((n) => n.name === m.node));
  if (strays.length === 0) return;
  const names = strays.map((m) => m.node).join(", ");
  throw new UserError(`the cluster file no longer has ${names}, whose VMs still exist`, {
    hint: "remove them first with kubelab up --prune (or put the nodes back in the cluster file): a Vagrantfile written without them would leave their VMs where nothing can remove them",
  });
}

/**
 * forgetNewHosts drops the recorded host keys at the addresses of the machines just made: a
 * VM made again (after a `vagrant destroy` outside kubelab, say) has its node's lab address
 * and new host keys.
 */
async function forgetNewHosts(before: readonly Machine[], after: readonly Machine[], clusterDir: string) {
  const knownHosts = clusterPaths(clusterDir).knownHosts;
  for (const m of after) {
    const was = before.find((b) => b.node === m.node)?.state ?? "absent";
    if (was === "absent" && m.endpoint) await forgetHost(knownHosts, m.endpoint.host, m.endpoint.port);
  }
}

/** createVagrantProvider makes the vagrant provider; tests pass their own host check and environment. */
export function createVagrantProvider(options: VagrantProviderOptions = {}): MachineProvider {
  const checkHost = options.checkHost ?? ((plan: Plan, ctx: ProviderContext) => vagrantHostProblems(plan, ctx));
  const vagrant = (argv: readonly string[], ctx: ProviderContext, more: Partial<VagrantRunOptions> = {}) =>
    (options.runVagrant ?? runVagrant)(argv, {
      clusterDir: ctx.clusterDir,
      env: options.env,
      signal: ctx.signal,
      ...more,
    });
  /** Vagrant's output, each line to the log, named by its machine when it is about one of `machines`. */
  const progress = (machines: readonly string[], ctx: ProviderContext) => (line: string) => {
    const { node, text } = splitVagrantLine(line, machines);
    if (text) ctx.log(node ? `${node}: ${text}` : text);
  };

  async function list(plan: Plan, ctx: ProviderContext): Promise<Machine[]> {
    const names = nodeNames(plan);
    // Without a Vagrantfile vagrant would look for one in the parent directories.
    if (!existsSync(vagrantPaths(ctx.clusterDir).vagrantfile)) return names.map((node) => ({ node, state: "absent" }));
    const status = parseStatus(
      (await vagrant(["status", "--machine-readable"], ctx, { timeoutMs: QUERY_TIMEOUT_MS })).stdout,
    );
    // Machines of an older Vagrantfile that the plan no longer has are listed too.
    for (const m of status.keys()) if (!names.includes(m)) names.push(m);
    const running = names.filter((n) => status.get(n) === "running");
    const ssh =
      running.length > 0
        ? parseSshConfig((await vagrant(["ssh-config", ...running], ctx, { timeoutMs: QUERY_TIMEOUT_MS })).stdout)
        : new Map<string, VagrantSshConfig>();
    return names.map((node) => {
      const state = machineState(status.get(node) ?? "not_created");
      const config = ssh.get(node);
      if (state !== "running" || !config) return { node, state };
      // Reached at its lab address (VirtualBox's host-only network, libvirt's isolated one;
      // this host has the gateway address on it): stable across restarts, unlike the
      // forwarded 127.0.0.1 ports vagrant hands out, so its host key is recorded once.
      const ip = plan.nodes.find((n) => n.name === node)?.ip;
      return { node, state, endpoint: ip ? { ...sshEndpoint(config), host: ip, port: 22 } : sshEndpoint(config) };
    });
  }

  // The host is checked for what is about to start: running VMs already have their memory.
  async function check(plan: Plan, machines: readonly Machine[], ctx: ProviderContext): Promise<HostProblem[]> {
    const start = toStart(plan, machines);
    if (start.length === 0) return [];
    return checkHost({ ...plan, nodes: plan.nodes.filter((n) => start.includes(n.name)) }, ctx);
  }

  async function create(plan: Plan, ctx: ProviderContext): Promise<Machine[]> {
    const provider = hypervisor(plan);
    const before = await list(plan, ctx);
    const start = toStart(plan, before);
    // With nothing to start the Vagrantfile is not written: VMs that left the file stay known to vagrant.
    if (start.length === 0) return before;
    refuseStrays(plan, before);
    const problems = await check(plan, before, ctx);
    if (problems.length > 0) throw vagrantHostError(problems);
    const baked = options.bakedBoxes === false ? undefined : await findBakedBox(plan, options.env);
    if (baked) ctx.log(`new machines come from the baked box ${baked.name} (made ${baked.created})`);
    await writeVagrantfile(baked ? withBox(plan, baked) : plan, ctx);
    const started = Date.now();
    ctx.log(`vagrant up ${start.join(", ")} on ${provider}`);
    // VirtualBox cannot create VMs in parallel; libvirt can.
    const parallel = provider === "libvirt" ? "--parallel" : "--no-parallel";
    await vagrant(["up", "--provider", provider, "--no-provision", parallel, "--no-color", ...start], ctx, {
      onLine: progress(nodeNames(plan), ctx),
    });
    const after = await list(plan, ctx);
    await forgetNewHosts(before, after, ctx.clusterDir);
    ctx.log(`${start.join(", ")} up in ${seconds(started)}`);
    return after;
  }

  // `vagrant halt` shuts each VM down through its guest (ACPI on libvirt, `shutdown` over SSH).
  async function stop(
    plan: Plan,
    nodes: readonly string[],
    ctx: ProviderContext,
    opts: StopOptions = {},
  ): Promise<void> {
    const machines = await list(plan, ctx);
    const running = nodes.filter((n) => machines.find((m) => m.node === n)?.state === "running");
    if (running.length === 0) return;
    const started = Date.now();
    ctx.log(`vagrant halt ${running.join(", ")}`);
    // --force: the hypervisor powers the VM off at once, without asking its guest.
    await vagrant(["halt", "--no-color", ...(opts.discard ? ["--force"] : []), ...running], ctx, {
      timeoutMs: HALT_TIMEOUT_MS,
      onLine: progress(running, ctx),
    });
    ctx.log(`${running.join(", ")} stopped in ${seconds(started)}`);
  }

  // `vagrant up` boots a halted VM with the disk, addresses and host keys it had.
  async function start(plan: Plan, nodes: readonly string[], ctx: ProviderContext): Promise<void> {
    const machines = await list(plan, ctx);
    const state = (n: string) => machines.find((m) => m.node === n)?.state ?? "absent";
    const absent = nodes.filter((n) => state(n) === "absent");
    if (absent.length > 0)
      throw new UserError(`${absent.join(", ")} of cluster ${plan.name} has no VM to start`, {
        hint: "kubelab up makes the missing machines",
      });
    const stopped = nodes.filter((n) => state(n) !== "running");
    if (stopped.length === 0) return;
    // The same host checks as create: a halted VM needs its memory back.
    const problems = await check(plan, machines, ctx);
    if (problems.length > 0) throw vagrantHostError(problems);
    const started = Date.now();
    const provider = hypervisor(plan);
    ctx.log(`vagrant up ${stopped.join(", ")} on ${provider}`);
    const parallel = provider === "libvirt" ? "--parallel" : "--no-parallel";
    await vagrant(["up", "--provider", provider, "--no-provision", parallel, "--no-color", ...stopped], ctx, {
      onLine: progress(stopped, ctx),
    });
    ctx.log(`${stopped.join(", ")} up in ${seconds(started)}`);
  }

  async function destroy(plan: Plan, ctx: ProviderContext): Promise<void> {
    const paths = vagrantPaths(ctx.clusterDir);
    if (!existsSync(paths.vagrantfile)) return;
    const existing = (await list(plan, ctx)).filter((m) => m.state !== "absent").map((m) => m.node);
    const started = Date.now();
    // With nothing created there is nothing to destroy: vagrant-libvirt would still need libvirt.
    if (existing.length > 0) {
      const parallel = hypervisor(plan) === "libvirt" ? ["--parallel"] : [];
      await vagrant(["destroy", "-f", ...parallel, "--no-color"], ctx, {
        timeoutMs: DESTROY_TIMEOUT_MS,
        onLine: progress(existing, ctx),
      });
    }
    await rm(paths.vagrantfile, { force: true });
    await rm(paths.state, { recursive: true, force: true });
    // New VMs have new host keys, possibly on the same address and port.
    await rm(clusterPaths(ctx.clusterDir).knownHosts, { force: true });
    if (existing.length > 0) ctx.log(`removed ${existing.join(", ")} in ${seconds(started)}`);
  }

  // Destroyed by name while the Vagrantfile still has them: it is only written anew by create.
  async function remove(plan: Plan, nodes: readonly string[], ctx: ProviderContext): Promise<void> {
    if (!existsSync(vagrantPaths(ctx.clusterDir).vagrantfile)) return;
    const known = await list(plan, ctx);
    const existing = nodes.filter((n) => known.some((m) => m.node === n && m.state !== "absent"));
    if (existing.length === 0) return;
    const started = Date.now();
    await vagrant(["destroy", "-f", "--no-color", ...existing], ctx, {
      timeoutMs: DESTROY_TIMEOUT_MS,
      onLine: progress(existing, ctx),
    });
    ctx.log(`removed ${existing.join(", ")} in ${seconds(started)}`);
  }

  async function logs(_plan: Plan, node: string, ctx: ProviderContext): Promise<string> {
    if (!existsSync(vagrantPaths(ctx.clusterDir).vagrantfile))
      return `no system log from ${node}: its VM was never created (no Vagrantfile in ${ctx.clusterDir})`;
    try {
      const r = await vagrant(["ssh", node, "--no-color", "-c", JOURNAL], ctx, { timeoutMs: LOGS_TIMEOUT_MS });
      return r.stdout.trimEnd() || `no system log from ${node}: journalctl printed nothing`;
    } catch (e) {
      if (ctx.signal?.aborted) throw e;
      const why = e instanceof UserError ? `${e.message}${e.details ? ` (${e.details})` : ""}` : String(e);
      return `no system log from ${node}: ${why}`;
    }
  }

  /** The snapshots vagrant has of a VM (`vagrant snapshot list`). */
  async function snapshotList(_plan: Plan, node: string, ctx: ProviderContext): Promise<string[]> {
    if (!existsSync(vagrantPaths(ctx.clusterDir).vagrantfile)) return [];
    const r = await vagrant(["snapshot", "list", "--no-color", node], ctx, { timeoutMs: QUERY_TIMEOUT_MS });
    return parseSnapshotList(r.stdout);
  }

  // Each VM's own snapshot, taken while it is halted: `vagrant snapshot save|restore|delete`.
  const snapshot: MachineSnapshots = {
    async save(_plan, name, nodes, ctx) {
      const disks: SnapshotDisk[] = [];
      for (const node of nodes) {
        ctx.log(`vagrant snapshot save ${node} ${name}`);
        await vagrant(["snapshot", "save", "--force", "--no-color", node, name], ctx, {
          timeoutMs: DESTROY_TIMEOUT_MS,
          onLine: progress([node], ctx),
        });
        disks.push({ node, location: `vagrant snapshot ${name} of ${node}` });
      }
      return disks;
    },
    async restore(plan, name, nodes, ctx) {
      for (const node of nodes) {
        if (!(await snapshotList(plan, node, ctx)).includes(name))
          throw new UserError(`${node} has no vagrant snapshot named ${name}`, {
            hint: `vagrant snapshot list ${node} (VAGRANT_CWD=${ctx.clusterDir}) shows the ones it has`,
          });
      }
      for (const node of nodes) {
        ctx.log(`vagrant snapshot restore ${node} ${name}`);
        // Booted afterwards with the others, in kubelab start's order.
        await vagrant(["snapshot", "restore", "--no-provision", "--no-start", "--no-color", node, name], ctx, {
          timeoutMs: DESTROY_TIMEOUT_MS,
          onLine: progress([node], ctx),
        });
      }
    },
    async delete(plan, name, nodes, ctx) {
      for (const node of nodes) {
        if (!(await snapshotList(plan, node, ctx)).includes(name)) continue;
        ctx.log(`vagrant snapshot delete ${node} ${name}`);
        await vagrant(["snapshot", "delete", "--no-color", node, name], ctx, { timeoutMs: DESTROY_TIMEOUT_MS });
      }
    },
    list: snapshotList,
  };

  const clusterFiles = (plan: Plan) => [{ path: "Vagrantfile", content: renderVagrantfile(plan) }];

  return {
    name: "vagrant",
    nodeEnvironment: PLAIN_NODE,
    clusterFiles,
    create,
    check,
    list,
    stop,
    start,
    destroy,
    remove,
    logs,
    snapshot,
  };
}

/** The vagrant provider, with the real host checks. */
export const vagrantProvider: MachineProvider = createVagrantProvider();

/**
 * parseSnapshotList reads `vagrant snapshot list VM`: one name a line, after a `==> VM:` line;
 * with none, vagrant says so in a `==>` line followed by indented `VM: ...` advice lines,
 * which are not names either.
 */
export function parseSnapshotList(stdout: string): string[] {
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("==>") && !/^\s+\S+: /.test(l))
    .map((l) => l.trim());
}
