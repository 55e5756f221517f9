import {
  type LifecycleOptions,
  type LifecycleResult,
  type StartOptions,
  startCluster,
  stopCluster,
} from "../../cluster/stop-start.js";
import { clusterDir } from "../../plan/cluster-dir.js";
import type { Plan } from "../../plan/types.js";
import { providerFor } from "../../providers/index.js";
import type { MachineProvider } from "../../providers/types.js";
import type { ClusterChoice } from "../cluster-option.js";
import { type Io, note } from "../io.js";
import { type OutputFormat, printOutput } from "../output.js";
import { locked } from "./locked.js";
import { loadPlanOrFail } from "./validated.js";

export interface StopStartOptions extends ClusterChoice {
  output: OutputFormat;
}

/** What stop and start reach beyond the cluster file; tests pass their own. */
export interface StopStartDeps {
  readonly providerFor: (plan: Plan) => Promise<MachineProvider>;
  readonly stop: (plan: Plan, opts: LifecycleOptions) => Promise<LifecycleResult>;
  readonly start: (plan: Plan, opts: StartOptions) => Promise<LifecycleResult>;
}

const realDeps: StopStartDeps = { providerFor, stop: stopCluster, start: startCluster };

/** What each provider's stop does to a node, for the summary line. */
const STOPPED: Record<Plan["provider"]["name"], string> = {
  nspawn: "machines stopped (kubelab start boots them again)",
  vagrant: "VMs halted (kubelab start boots them again)",
  ssh: "kubelet, the pods and containerd stopped on the hosts, which stay up (kubelab start starts them again)",
};

async function run(
  command: "stop" | "start",
  opts: StopStartOptions,
  io: Io,
  deps: StopStartDeps,
): Promise<{ plan: Plan; r: LifecycleResult }> {
  const plan = await loadPlanOrFail(opts.file, io, opts.cwd);
  const dir = clusterDir(plan, opts.file, opts.cwd);
  const r = await locked(plan, dir, command, io, async () => {
    const lopts = {
      provider: await deps.providerFor(plan),
      clusterDir: dir,
      log: (l: string) => io.err(`   ${l}`),
      signal: io.signal,
    };
    return command === "stop" ? deps.stop(plan, lopts) : deps.start(plan, lopts);
  });
  return { plan, r };
}

function table(r: LifecycleResult): string {
  const w = Math.max(4, ...r.nodes.map((n) => n.node.length));
  return [
    `${"NODE".padEnd(w)}  ${"ROLE".padEnd(13)}  ${"IP".padEnd(15)}  MACHINE`,
    ...r.nodes.map((n) => `${n.node.padEnd(w)}  ${n.role.padEnd(13)}  ${n.ip.padEnd(15)}  ${n.machine}`),
  ].join("\n");
}

/** stop powers the cluster's machines off, workers first (the ssh provider: stops its services). */
export async function stop(opts: StopStartOptions, io: Io, deps: StopStartDeps = realDeps): Promise<void> {
  const { plan, r } = await run("stop", opts, io, deps);
  printOutput(io, opts.output, r, () => table(r), "cut");
  if (opts.output === "text") note(io, `cluster ${r.cluster}: ${STOPPED[plan.provider.name]}`);
}

/** start boots the cluster's machines, control planes first, and waits until the cluster is back. */
export async function start(opts: StopStartOptions, io: Io, deps: StopStartDeps = realDeps): Promise<void> {
  const { r } = await run("start", opts, io, deps);
  printOutput(io, opts.output, { ...r, ready: true }, () => table(r), "cut");
  if (opts.output === "text")
    note(io, `cluster ${r.cluster}: back, every node Ready and every workload ready: kubectl get nodes`);
}
