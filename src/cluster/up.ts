/**
 * up: machines, then node preparation, as an ordered list of phases (k0sctl style).
 * Every phase decides from facts; a second run on an unchanged plan changes nothing.
 */

import type { KubeConfig } from "@kubernetes/client-node";
import { type AddonsResult, applyAddons, enabledAddons, renderAddons } from "../addons/index.js";
import type { AddonSources } from "../addons/sources.js";
import type { PackageSource } from "../artifacts/package-source.js";
import { type FileServer, hostHasAddress, serveArtifacts } from "../artifacts/serve.js";
import { kubeConfig, WaitTimeout, waitApiReady, waitNodes } from "../kube/client.js";
import { contextName, userKubeconfigPath } from "../kube/kubeconfig.js";
import { configureOsPhase } from "../phases/configure-os.js";
import { gatherFactsPhase } from "../phases/gather-facts.js";
import { importImagesPhase } from "../phases/images.js";
import { installContainerdPhase } from "../phases/install-containerd.js";
import { installKubernetesPhase } from "../phases/install-kubernetes.js";
import { kubeadmInitPhase, kubeadmJoinPhase, kubeletTail } from "../phases/kubeadm.js";
import { type Change, type Phase, type PhaseContext, runPhases, type Status } from "../phases/phase.js";
import { startContainerdPhase } from "../phases/start-containerd.js";
import { validateHostsPhase } from "../phases/validate-hosts.js";
import { writeFilesPhase } from "../phases/write-files.js";
import type { Plan } from "../plan/types.js";
import type { MachineProvider } from "../providers/types.js";
import { connectAll, hostKeyPolicy } from "../remote/connect-all.js";
import type { Remote } from "../remote/types.js";

export { hostKeyPolicy };

import { firstControlPlane } from "../plan/control-plane.js";
import { kubeconfigFrom, saveKubeconfig } from "./kubeconfig.js";

/** The node preparation phases, in order. Library users may insert their own. */
export const PREPARE_PHASES: readonly Phase[] = [
  gatherFactsPhase,
  validateHostsPhase,
  configureOsPhase,
  writeFilesPhase,
  installContainerdPhase,
  installKubernetesPhase,
  startContainerdPhase,
];

/** The cluster phases, after node preparation. */
export const CLUSTER_PHASES: readonly Phase[] = [importImagesPhase, kubeadmInitPhase, kubeadmJoinPhase];

/** Options of {@link up}. */
export interface UpOptions {
  readonly provider: MachineProvider;
  readonly packages: PackageSource;
  readonly clusterDir: string;
  readonly dryRun?: boolean;
  /** Nodes worked on at once. @default 8 */
  readonly concurrency?: number;
  /** Replace a changed host key of an existing (ssh provider) host instead of refusing. */
  readonly acceptNewHostKeys?: boolean;
  /** The phases to run. @default [...PREPARE_PHASES, ...CLUSTER_PHASES] */
  readonly phases?: readonly Phase[];
  /**
   * The kubeconfig file the cluster's context is merged into (`false`: none; the cluster
   * directory always gets its own copy). @default userKubeconfigPath()
   */
  readonly kubeconfig?: string | false;
  /** How long to wait for the API server and for nodes to register. @default 300000 */
  readonly waitTimeoutMs?: number;
  /**
   * Let nodes fetch release files from a file server on the host's lab address (when the
   * host has that address); otherwise, or when a node cannot reach it, they go over SSH.
   * @default true
   */
  readonly fileServer?: boolean;
  /**
   * Where the addons' manifests, charts and helm come from; required when the plan enables
   * an addon (`false` skips the addons, as when preparing nodes only).
   */
  readonly addons?: AddonSources | false;
  /** Take back addon fields changed outside kubelab instead of stopping at the conflict. */
  readonly forceConflicts?: boolean;
  readonly log: (line: string) => void;
  /** Things the user should read even without --verbose. @default log */
  readonly warn?: (line: string) => void;
  readonly status: Status;
  readonly signal?: AbortSignal;
}

/** What up did (or, in a dry run, would do). */
export interface UpResult {
  readonly changes: readonly Change[];
  /** The kubeconfig context of the cluster, once it exists (not in a dry run). */
  readonly context?: string;
  /** Files the context was written to: the cluster directory's copy, then the merged file. */
  readonly kubeconfigFiles?: readonly string[];
  /** What applying the addons changed, and lines for the user (the UI's address). */
  readonly addons?: AddonsResult;
  /** Machines a dry run would create (they do not exist yet, so nothing else can be known). */
  readonly wouldCreate: readonly string[];
}

/** up creates missing machines and prepares every node for kubeadm. */
export async function up(plan: Plan, opts: UpOptions): Promise<UpResult> {
  const pctx = { clusterDir: opts.clusterDir, log: opts.log, signal: opts.signal };
  let machines = await opts.provider.list(plan, pctx);
  const absent = machines.filter((m) => m.state !== "running").map((m) => m.node);
  if (opts.dryRun && absent.length > 0) {
    for (const node of absent) opts.log(`${node}: would create the machine and prepare it from scratch`);
    return {
      changes: absent.map((node) => ({ node, what: "create and prepare the machine from scratch" })),
      wouldCreate: absent,
    };
  }
  if (absent.length > 0) {
    // A live line per machine: providers log `<node>: <what it is doing>` (vagrant's own lines).
    opts.status.start(`Create machines (${absent.join(", ")})`, absent);
    try {
      machines = await opts.provider.create(plan, pctx);
    } catch (e) {
      opts.status.end(false);
      throw e;
    }
    opts.status.end(true);
  }
  const hosts: Map<string, Remote> = await connectAll(plan, machines, {
    clusterDir: opts.clusterDir,
    policy: hostKeyPolicy(opts.acceptNewHostKeys),
    concurrency: opts.concurrency ?? 8,
    signal: opts.signal,
  });
  const gateway = plan.network.gateway;
  let fileServer: FileServer | undefined;
  if (!opts.dryRun && opts.fileServer !== false && hostHasAddress(gateway)) {
    fileServer = await serveArtifacts(opts.packages.artifacts, gateway).catch((e: Error) => {
      opts.log(`cannot serve files on ${gateway} (${e.message}); nodes get them over SSH`);
      return undefined;
    });
  }
  const ctx: PhaseContext = {
    plan,
    hosts,
    facts: new Map(),
    packages: opts.packages,
    fileServer,
    dryRun: opts.dryRun ?? false,
    concurrency: opts.concurrency ?? 8,
    log: opts.log,
    changes: [],
    restart: new Map(),
    signal: opts.signal,
  };
  const phases = opts.phases ?? [...PREPARE_PHASES, ...CLUSTER_PHASES];
  try {
    await runPhases(phases, ctx, opts.status);
    if (opts.dryRun || !phases.includes(kubeadmInitPhase)) return { changes: ctx.changes, wouldCreate: [] };
    const { files, kc } = await awaitCluster(plan, hosts, opts);
    const addons = await installAddons(plan, kc, opts);
    const changes = [...ctx.changes, ...(addons?.changed ?? []).map((what) => ({ node: "cluster", what }))];
    return { changes, wouldCreate: [], context: contextName(plan), kubeconfigFiles: files, addons };
  } finally {
    await Promise.all([...hosts.values()].map((h) => h.close().catch(() => {})));
    await fileServer?.close();
  }
}

/**
 * awaitCluster waits for the API server and every node's registration, from this host
 * through the lab network, then writes the kubeconfig. A node that does not register is
 * reported with kubelet's last lines from that node.
 */
async function awaitCluster(
  plan: Plan,
  hosts: ReadonlyMap<string, Remote>,
  opts: UpOptions,
): Promise<{ files: string[]; kc: KubeConfig }> {
  const config = await kubeconfigFrom(plan, hosts.get(firstControlPlane(plan).name) as Remote);
  const kc = kubeConfig(config);
  const wait = { timeoutMs: opts.waitTimeoutMs ?? 300_000, signal: opts.signal };
  opts.status.start("Wait for the API server and node registration");
  try {
    await waitApiReady(kc, wait);
    await waitNodes(
      kc,
      plan.nodes.map((n) => n.name),
      wait,
    ).catch(async (e) => {
      if (!(e instanceof WaitTimeout)) throw e;
      const missing = plan.nodes.filter((n) => e.message.includes(n.name));
      const tails = await Promise.all(
        missing.map(async (n) => {
          const tail = await kubeletTail(hosts.get(n.name) as Remote, 15).catch((err: Error) => err.message);
          return `--- ${n.name}: kubelet's last lines:\n${tail}`;
        }),
      );
      throw new WaitTimeout([e.message, ...tails].join("\n"));
    });
  } catch (e) {
    opts.status.end(false);
    throw e;
  }
  opts.status.end(true);
  return { files: await saveKubeconfig(config, opts.clusterDir, opts.kubeconfig ?? userKubeconfigPath()), kc };
}

/**
 * installAddons renders every enabled addon (reading all its sources first, so a bad
 * download stops before anything is applied), then applies and awaits them step by step.
 */
async function installAddons(plan: Plan, kc: KubeConfig, opts: UpOptions): Promise<AddonsResult | undefined> {
  if (opts.addons === false || enabledAddons(plan).length === 0) return undefined;
  if (opts.addons === undefined) throw new Error("up: the plan enables addons but no addon sources were given");
  const sources = opts.addons;
  const step = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    opts.status.start(what);
    try {
      const value = await f();
      opts.status.end(true);
      return value;
    } catch (e) {
      opts.status.end(false);
      throw e;
    }
  };
  const rendered = await step("Render addons", () =>
    renderAddons({ plan, sources, cluster: kc, now: new Date(), warn: opts.warn ?? opts.log }),
  );
  return applyAddons(kc, rendered, {
    timeoutMs: opts.waitTimeoutMs ?? 300_000,
    signal: opts.signal,
    log: opts.log,
    force: opts.forceConflicts,
    status: (what, f) => step(what, f),
  });
}
