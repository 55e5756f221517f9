/**
 * up: the steps of `kubelab up`, in order. Find the plan's machines and create the missing
 * ones (a dry run checks the host and the existing hosts instead), connect to each over SSH, prepare every node through the phases (each decides from
 * the node's facts, so a second run on an unchanged plan changes nothing), kubeadm init and
 * join, wait for the API server and every node, write the kubeconfig, install the addons.
 */
import type { AddonsResult } from "../addons/index.js";
import type { AddonSources } from "../addons/sources.js";
import type { PackageSource } from "../artifacts/package-source.js";
import type { FileServer } from "../artifacts/serve.js";
import { kubeConfig } from "../kube/client.js";
import { checkKubeconfig, contextName, userKubeconfigPath } from "../kube/kubeconfig.js";
import { configureOsPhase } from "../phases/configure-os.js";
import { controlPlaneVipPhase } from "../phases/control-plane-vip.js";
import { gatherFactsPhase } from "../phases/gather-facts.js";
import { importImagesPhase } from "../phases/images.js";
import { installContainerdPhase } from "../phases/install-containerd.js";
import { installKubernetesPhase } from "../phases/install-kubernetes.js";
import { kubeadmInitPhase, kubeadmJoinPhase } from "../phases/kubeadm.js";
import { type Change, type Phase, type PhaseContext, runPhases, type Status } from "../phases/phase.js";
import { startContainerdPhase } from "../phases/start-containerd.js";
import { validateHostsPhase } from "../phases/validate-hosts.js";
import { writeFilesPhase } from "../phases/write-files.js";
import { recordCluster } from "../plan/cluster-index.js";
import { firstControlPlane } from "../plan/control-plane.js";
import type { Plan } from "../plan/types.js";
import type { Machine, MachineProvider } from "../providers/types.js";
import { closeOnAbort } from "../remote/close-on-abort.js";
import { connectAll, hostKeyPolicy } from "../remote/connect-all.js";
import type { Remote } from "../remote/types.js";
import { awaitNodes } from "./await-nodes.js";
import { dryRunChecks, type UpProblem } from "./dry-run-checks.js";
import { labFileServer } from "./file-server.js";
import { installAddons } from "./install-addons.js";
import { kubeconfigFrom, saveKubeconfig } from "./kubeconfig.js";
import { withStatus } from "./with-status.js";

/** Callers of up also need the host key policy it connects with. */
export { hostKeyPolicy };

/**
 * The node preparation phases, in order: everything a node needs before kubeadm. Tests and
 * `kubelab image bake` run only these (through {@link UpOptions.phases}).
 */
export const PREPARE_PHASES: readonly Phase[] = [
  gatherFactsPhase,
  validateHostsPhase,
  configureOsPhase,
  writeFilesPhase,
  installContainerdPhase,
  installKubernetesPhase,
  startContainerdPhase,
  controlPlaneVipPhase,
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
  /** Accept a host key that changed since it was recorded (a reinstalled host) instead of refusing. */
  readonly acceptNewHostKeys?: boolean;
  /**
   * The phases to run. Without kubeadmInitPhase up ends after them: no waiting, no
   * kubeconfig, no addons. @default [...PREPARE_PHASES, ...CLUSTER_PHASES]
   */
  readonly phases?: readonly Phase[];
  /**
   * The kubeconfig file the cluster's context is merged into (`false`: none; the cluster
   * directory always gets its own copy). @default userKubeconfigPath()
   */
  readonly kubeconfig?: string | false;
  /** How long to wait for the API server and nodes to register, and for each addon step. @default 300000 */
  readonly waitTimeoutMs?: number;
  /**
   * Let nodes fetch release files from a file server on the host's lab address (when the
   * host has that address, and not in a dry run); otherwise, or when a node cannot reach it,
   * they go over SSH. @default true
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
  /** One SSH connection attempt's limit and how often it is retried. @default connect's (20 s, 4 retries) */
  readonly sshConnect?: { readonly timeoutMs?: number; readonly retries?: number };
  /**
   * Record the cluster in this cluster index (plan/cluster-index.ts) once its machines exist,
   * with the file it came from (absent: the built-in lab) and the directory up ran in; never
   * in a dry run. @default not recorded
   */
  readonly record?: { readonly index: string; readonly file?: string; readonly cwd: string };
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
  /**
   * What a dry run found that would stop up: host check failures, unreachable hosts, failed
   * SSH logins. With any, changes hold only the machines to create. A real up throws instead.
   */
  readonly problems: readonly UpProblem[];
}

/**
 * up creates the plan's missing machines, prepares every node, makes the cluster with
 * kubeadm and installs the addons; a dry run reports what it would change instead, or what
 * would stop up (see dryRunChecks).
 */
export async function up(plan: Plan, opts: UpOptions): Promise<UpResult> {
  const phases = opts.phases ?? [...PREPARE_PHASES, ...CLUSTER_PHASES];
  // The user's kubeconfig is written at the very end: one kubelab could not write is found first.
  if (!opts.dryRun && opts.kubeconfig !== false && phases.includes(kubeadmInitPhase))
    await checkKubeconfig(opts.kubeconfig ?? userKubeconfigPath());
  const pctx = { clusterDir: opts.clusterDir, log: opts.log, signal: opts.signal };
  const found = await opts.provider.list(plan, pctx);
  // Existing hosts (ssh provider) are never made: an unreachable one is a problem, not a machine to create.
  const absent = found.filter((m) => m.state === "absent" || m.state === "stopped").map((m) => m.node);
  const connect = (nodes: Plan, machines: readonly Machine[]) =>
    connectAll(nodes, machines, {
      clusterDir: opts.clusterDir,
      policy: hostKeyPolicy(opts.acceptNewHostKeys),
      concurrency: opts.concurrency ?? 8,
      connectTimeoutMs: opts.sshConnect?.timeoutMs,
      retries: opts.sshConnect?.retries,
      signal: opts.signal,
    });
  let hosts: Map<string, Remote>;
  if (opts.dryRun) {
    const checked = await dryRunChecks(plan, found, {
      provider: opts.provider,
      ctx: pctx,
      connect: (p) => connect(p, found),
    });
    if (absent.length > 0 || checked.problems.length > 0) {
      await closeAll(checked.hosts);
      return { ...wouldCreate(absent, opts.log), problems: checked.problems };
    }
    hosts = checked.hosts;
  } else {
    // A live line per machine: providers log `<node>: <what it is doing>` (vagrant's own lines).
    const machines =
      absent.length === 0
        ? found
        : await withStatus(
            opts.status,
            `Create machines (${absent.join(", ")})`,
            () => opts.provider.create(plan, pctx),
            absent,
          );
    if (opts.record) {
      const { index, file, cwd } = opts.record;
      await recordCluster(index, {
        name: plan.name,
        file,
        cwd,
        clusterDir: opts.clusterDir,
        provider: plan.provider.name,
        created: new Date().toISOString(),
      });
    }
    hosts = await connect(plan, machines);
  }
  const fileServer =
    opts.dryRun || opts.fileServer === false
      ? undefined
      : await labFileServer(opts.packages.artifacts, plan.network.gateway, opts.log);
  const ctx = phaseContext(plan, hosts, fileServer, opts);
  const done = { wouldCreate: [], problems: [] };
  const unwatch = closeOnAbort(hosts, opts.signal);
  try {
    await runPhases(phases, ctx, opts.status);
    if (opts.dryRun || !phases.includes(kubeadmInitPhase)) return { changes: ctx.changes, ...done };
    const config = await kubeconfigFrom(plan, hosts.get(firstControlPlane(plan).name) as Remote);
    const kc = kubeConfig(config);
    const timeoutMs = opts.waitTimeoutMs ?? 300_000;
    await withStatus(opts.status, "Wait for the API server and node registration", () =>
      awaitNodes(kc, plan, hosts, { timeoutMs, signal: opts.signal }),
    );
    const kubeconfigFiles = await saveKubeconfig(config, opts.clusterDir, opts.kubeconfig ?? userKubeconfigPath());
    const addons = await installAddons(plan, kc, {
      sources: opts.addons,
      timeoutMs,
      force: opts.forceConflicts,
      log: opts.log,
      warn: opts.warn ?? opts.log,
      status: opts.status,
      signal: opts.signal,
    });
    const changes = [...ctx.changes, ...(addons?.changed ?? []).map((what) => ({ node: "cluster", what }))];
    return { changes, ...done, context: contextName(plan), kubeconfigFiles, addons };
  } catch (e) {
    // Aborted, the commands failed because their connections were closed: the abort is the news.
    throw opts.signal?.aborted ? opts.signal.reason : e;
  } finally {
    unwatch();
    await closeAll(hosts);
    await fileServer?.close();
  }
}

const closeAll = (hosts: ReadonlyMap<string, Remote>) =>
  Promise.all([...hosts.values()].map((h) => h.close().catch(() => {})));

/** A dry run with machines to create stops there: nothing else about them can be known yet. */
function wouldCreate(absent: readonly string[], log: (line: string) => void) {
  for (const node of absent) log(`${node}: would create the machine and prepare it from scratch`);
  return {
    changes: absent.map((node) => ({ node, what: "create and prepare the machine from scratch" })),
    wouldCreate: absent,
  };
}

/** What the phases share for one run of up. */
function phaseContext(
  plan: Plan,
  hosts: ReadonlyMap<string, Remote>,
  fileServer: FileServer | undefined,
  opts: UpOptions,
): PhaseContext {
  return {
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
}
