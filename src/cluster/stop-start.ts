/**
 * `kubelab stop` and `kubelab start`: the machines powered off and on again in an order that
 * keeps the cluster sane (workers first on the way down, control planes first on the way
 * up, every control plane at once so etcd finds its quorum), then, on start, waiting until
 * the cluster is back: the API answers, every node is Ready and every workload (the
 * addons', kube-system's, the user's) is ready again; or saying what did not come back.
 */
import { AppsV1Api, CoreV1Api, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { UserError, WaitTimeout } from "../errors.js";
import { kubeConfig, listNodes, waitApiReady, waitNodes } from "../kube/client.js";
import { waitWorkloads } from "../kube/ready.js";
import { firstControlPlane } from "../plan/control-plane.js";
import type { Plan } from "../plan/types.js";
import type { Machine, MachineProvider, ProviderContext } from "../providers/types.js";
import { closeOnAbort } from "../remote/close-on-abort.js";
import { connectAll, hostKeyPolicy } from "../remote/connect-all.js";
import type { Remote } from "../remote/types.js";
import { comeBackReport, kubeletTails, notReadyNodes, notReadyPods } from "./come-back.js";
import { kubeconfigFrom } from "./kubeconfig.js";

/** stopOrder is the groups of nodes `stop` powers off, one group after the other: workers, then control planes. */
export function stopOrder(plan: Plan): string[][] {
  return groups(plan, ["worker", "control-plane"]);
}

/** startOrder is the groups `start` boots in turn: every control plane at once (etcd needs its quorum), then workers. */
export function startOrder(plan: Plan): string[][] {
  return groups(plan, ["control-plane", "worker"]);
}

function groups(plan: Plan, roles: readonly Plan["nodes"][number]["role"][]): string[][] {
  return roles.map((r) => plan.nodes.filter((n) => n.role === r).map((n) => n.name)).filter((g) => g.length > 0);
}

/** One node after stop or start, as the commands print it. */
export interface LifecycleNode {
  readonly node: string;
  readonly role: string;
  readonly ip: string;
  /** As `kubelab status` says it: existing hosts (ssh provider) are reachable or not, whatever their services do. */
  readonly machine: Machine["state"] | "reachable";
}

/** What stop and start report. */
export interface LifecycleResult {
  readonly cluster: string;
  readonly nodes: readonly LifecycleNode[];
}

/** Options of {@link stopCluster} and {@link startCluster}. */
export interface LifecycleOptions {
  readonly provider: MachineProvider;
  readonly clusterDir: string;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
  /** stop only: the machines' state is thrown away next (a restore), so no clean shutdown. */
  readonly discard?: boolean;
}

/** Options of {@link startCluster}: how long each wait (API, nodes, workloads) may take. */
export interface StartOptions extends LifecycleOptions {
  /** @default 300000 */
  readonly timeoutMs?: number;
}

const ctxOf = (opts: LifecycleOptions): ProviderContext => ({
  clusterDir: opts.clusterDir,
  log: opts.log,
  signal: opts.signal,
});

const machineState = (provider: MachineProvider, state: Machine["state"]): LifecycleNode["machine"] =>
  provider.name === "ssh" && state === "running" ? "reachable" : state;

async function result(plan: Plan, opts: LifecycleOptions): Promise<LifecycleResult> {
  const machines = await opts.provider.list(plan, ctxOf(opts));
  return {
    cluster: plan.name,
    nodes: plan.nodes.map((n) => ({
      node: n.name,
      role: n.role,
      ip: n.ip,
      machine: machineState(opts.provider, machines.find((m) => m.node === n.name)?.state ?? "absent"),
    })),
  };
}

/** refuseWithoutMachines stops a command on a cluster that was never made (or was removed). */
async function refuseWithoutMachines(plan: Plan, opts: LifecycleOptions): Promise<void> {
  const machines = await opts.provider.list(plan, ctxOf(opts));
  if (plan.nodes.every((n) => (machines.find((m) => m.node === n.name)?.state ?? "absent") === "absent"))
    throw new UserError(`cluster ${plan.name} has no machines`, { hint: "kubelab up makes them" });
}

/** stopCluster powers the cluster's machines off, workers first; the machines stay. */
export async function stopCluster(plan: Plan, opts: LifecycleOptions): Promise<LifecycleResult> {
  await refuseWithoutMachines(plan, opts);
  for (const group of stopOrder(plan)) {
    opts.signal?.throwIfAborted();
    await opts.provider.stop(plan, group, ctxOf(opts), { discard: opts.discard });
  }
  return result(plan, opts);
}

/** startMachines boots the cluster's machines, control planes first, without waiting for Kubernetes. */
export async function startMachines(plan: Plan, opts: LifecycleOptions): Promise<void> {
  await refuseWithoutMachines(plan, opts);
  for (const group of startOrder(plan)) {
    opts.signal?.throwIfAborted();
    await opts.provider.start(plan, group, ctxOf(opts));
  }
}

/**
 * startCluster boots the machines (startMachines), then waits for the cluster to be back;
 * when it is not in time, the WaitTimeout names each node not Ready with its kubelet's last
 * lines and each pod not Ready with why.
 */
export async function startCluster(plan: Plan, opts: StartOptions): Promise<LifecycleResult> {
  await startMachines(plan, opts);
  const machines = await opts.provider.list(plan, ctxOf(opts));
  const hosts = await connectAll(plan, machines, {
    clusterDir: opts.clusterDir,
    policy: hostKeyPolicy(),
    concurrency: 8,
    signal: opts.signal,
  });
  const unwatch = closeOnAbort(hosts, opts.signal);
  try {
    const kc = kubeConfig(await kubeconfigFrom(plan, hosts.get(firstControlPlane(plan).name) as Remote));
    await awaitComeBack(plan, kc, hosts, { timeoutMs: opts.timeoutMs ?? 300_000, signal: opts.signal, log: opts.log });
  } catch (e) {
    throw opts.signal?.aborted ? opts.signal.reason : e;
  } finally {
    unwatch();
    await Promise.all([...hosts.values()].map((h) => h.close().catch(() => {})));
  }
  return result(plan, opts);
}

/** allWorkloads lists every Deployment, DaemonSet and StatefulSet in the cluster, with kind and apiVersion set. */
async function allWorkloads(kc: KubeConfig): Promise<KubernetesObject[]> {
  const apps = kc.makeApiClient(AppsV1Api);
  const tag = (kind: string) => (o: KubernetesObject) => ({ ...o, apiVersion: "apps/v1", kind });
  const [d, ds, ss] = await Promise.all([
    apps.listDeploymentForAllNamespaces(),
    apps.listDaemonSetForAllNamespaces(),
    apps.listStatefulSetForAllNamespaces(),
  ]);
  return [...d.items.map(tag("Deployment")), ...ds.items.map(tag("DaemonSet")), ...ss.items.map(tag("StatefulSet"))];
}

/**
 * awaitComeBack waits for the API server, every node Ready and every workload ready. A wait
 * that gives up is turned into the report of what did not come back.
 */
export async function awaitComeBack(
  plan: Plan,
  kc: KubeConfig,
  hosts: ReadonlyMap<string, Remote>,
  opts: { timeoutMs: number; signal?: AbortSignal; log: (line: string) => void },
): Promise<void> {
  const wait = { timeoutMs: opts.timeoutMs, signal: opts.signal };
  const names = plan.nodes.map((n) => n.name);
  try {
    opts.log("waiting for the API server");
    await waitApiReady(kc, wait);
    opts.log(`waiting for ${names.join(", ")} to be Ready`);
    await waitNodes(kc, names, { ...wait, ready: true });
    const workloads = await allWorkloads(kc);
    opts.log(`waiting for ${workloads.length} workloads (Deployments, DaemonSets, StatefulSets)`);
    await waitWorkloads(kc, workloads, { ...wait, what: "workloads" });
  } catch (e) {
    if (!(e instanceof WaitTimeout)) throw e;
    throw new WaitTimeout(await whatDidNotComeBack(plan, kc, hosts, e.message));
  }
}

/** whatDidNotComeBack gathers the report: nodes not Ready (or, without an API, every control plane) and pods not Ready. */
async function whatDidNotComeBack(
  plan: Plan,
  kc: KubeConfig,
  hosts: ReadonlyMap<string, Remote>,
  waited: string,
): Promise<string> {
  const nodes = await listNodes(kc).catch(() => undefined);
  // Without the API the control planes' kubelets say why it is not there.
  const suspects = nodes
    ? notReadyNodes(plan, nodes)
    : plan.nodes
        .filter((n) => n.role === "control-plane")
        .map((n) => ({ node: n.name, why: "the API server does not answer" }));
  const pods = nodes
    ? await kc
        .makeApiClient(CoreV1Api)
        .listPodForAllNamespaces()
        .then((l) => notReadyPods(l.items))
        .catch(() => [])
    : [];
  return comeBackReport({ waited, nodes: await kubeletTails(suspects, hosts), pods });
}
