/**
 * up: the steps of `kubelab up`, in order. Find the plan's machines; remove the nodes that
 * left the file (with --prune or a yes; else a warning), then create the missing machines (a
 * dry run checks the host and the existing hosts instead) and record the applied nodes,
 * connect to each over SSH, prepare every node through the phases (each decides from the
 * node's facts, so a second run on an unchanged plan changes nothing), kubeadm init and join,
 * wait for the API server and every node, write the kubeconfig, install the addons.
 */
import type { AddonsResult } from "../addons/index.js";
import type { AddonSources } from "../addons/sources.js";
import type { PackageSource } from "../artifacts/package-source.js";
import type { FileServer } from "../artifacts/serve.js";
import { apiErrorMessage, kubeConfig, listNodes } from "../kube/client.js";
import { checkKubeconfig, contextName, userKubeconfigPath } from "../kube/kubeconfig.js";
import { configureOsPhase } from "../phases/configure-os.js";
import { controlPlaneVipPhase } from "../phases/control-plane-vip.js";
import { endpointHealth, memberList } from "../phases/etcd.js";
import { gatherFactsPhase } from "../phases/gather-facts.js";
import { importImagesPhase } from "../phases/images.js";
import { installContainerdPhase } from "../phases/install-containerd.js";
import { installKubernetesPhase } from "../phases/install-kubernetes.js";
import { kubeadmInitPhase, kubeadmJoinPhase } from "../phases/kubeadm.js";
import {
  type Change,
  type Phase,
  type PhaseContext,
  runPhases,
  type Status,
  type UpgradeOptions,
} from "../phases/phase.js";
import { startContainerdPhase } from "../phases/start-containerd.js";
import { upgradeCheckPhase, upgradeKubernetesPhase } from "../phases/upgrade.js";
import { validateHostsPhase } from "../phases/validate-hosts.js";
import { writeFilesPhase } from "../phases/write-files.js";
import {
  type AppliedLogin,
  type AppliedNode,
  appliedRecord,
  leftTheFile,
  readAppliedNodes,
  writeAppliedNodes,
} from "../plan/applied-nodes.js";
import { clusterPaths } from "../plan/cluster-dir.js";
import { recordCluster } from "../plan/cluster-index.js";
import { firstControlPlane } from "../plan/control-plane.js";
import type { Plan } from "../plan/types.js";
import type { Machine, MachineProvider } from "../providers/types.js";
import { closeOnAbort } from "../remote/close-on-abort.js";
import { connectAll, hostKeyPolicy } from "../remote/connect-all.js";
import { connect as sshConnect } from "../remote/ssh.js";
import type { Remote } from "../remote/types.js";
import { awaitNodes } from "./await-nodes.js";
import { dryRunChecks, type UpProblem } from "./dry-run-checks.js";
import { labFileServer } from "./file-server.js";
import { installAddons } from "./install-addons.js";
import { kubeconfigFrom, saveKubeconfig } from "./kubeconfig.js";
import { refuseByPlan, refuseByQuorum, refuseMoved } from "./removal-rules.js";
import { removalConsent, removeNodes, strangerNodes } from "./remove-nodes.js";
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
  // Before any phase that changes a node: a version change kubeadm refuses stops up here.
  upgradeCheckPhase,
  configureOsPhase,
  writeFilesPhase,
  installContainerdPhase,
  installKubernetesPhase,
  startContainerdPhase,
  controlPlaneVipPhase,
];

/** The cluster phases, after node preparation. */
export const CLUSTER_PHASES: readonly Phase[] = [
  importImagesPhase,
  kubeadmInitPhase,
  // Before join: nodes new to the cluster join its upgraded control plane with the new kubeadm.
  upgradeKubernetesPhase,
  kubeadmJoinPhase,
];

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
  /**
   * Remove the nodes that left the cluster file (found in the record of applied nodes) without
   * asking; without it they are removed only when `confirmRemoval` says yes, else left with a warning.
   */
  readonly prune?: boolean;
  /** Asks whether to remove the nodes that left the file (absent: nobody to ask, e.g. no terminal). */
  readonly confirmRemoval?: (question: string) => Promise<boolean>;
  /** How long draining one node that leaves may take. @default waitTimeoutMs */
  readonly drainTimeoutMs?: number;
  /** How an in-place Kubernetes upgrade drains nodes (`--max-unavailable`). */
  readonly upgrade?: UpgradeOptions;
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
  /** Nodes that left the cluster file and are still there (not removed this time). */
  readonly toRemove: readonly string[];
  /** Nodes that left the cluster file and were removed. */
  readonly removed: readonly string[];
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
  const warn = opts.warn ?? opts.log;
  // The nodes kubelab made that the file no longer has: refused before anything is touched
  // when the cluster could not go on without them.
  const record = await readAppliedNodes(opts.clusterDir);
  const leaving = leftTheFile(plan, record);
  refuseByPlan(plan, record, leaving);
  refuseMoved(plan, record);
  const found = await opts.provider.list(plan, pctx);
  // Existing hosts (ssh provider) are never made: an unreachable one is a problem, not a machine to create.
  // Machines of nodes that left the file are listed too, and never made again.
  const absent = found
    .filter((m) => (m.state === "absent" || m.state === "stopped") && plan.nodes.some((n) => n.name === m.node))
    .map((m) => m.node);
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
  const removal = { changes: [] as Change[], removed: [] as string[], toRemove: leaving.map((n) => n.name) };
  let kept: readonly AppliedNode[] = record;
  if (opts.dryRun) {
    if (leaving.length > 0) removal.changes.push(...wouldRemove(leaving, opts.prune === true, opts.log, warn));
    const checked = await dryRunChecks(plan, found, {
      provider: opts.provider,
      ctx: pctx,
      connect: (p) => connect(p, found),
    });
    if (absent.length > 0 || checked.problems.length > 0) {
      await closeAll(checked.hosts);
      const created = wouldCreate(absent, opts.log);
      return {
        ...created,
        changes: [...removal.changes, ...created.changes],
        problems: checked.problems,
        toRemove: removal.toRemove,
        removed: [],
      };
    }
    hosts = checked.hosts;
  } else {
    const names = leaving.map((n) => n.name);
    // Before any machine is made: a Vagrantfile written for the plan would no longer have them.
    if (await removalConsent(names, { prune: opts.prune, confirm: opts.confirmRemoval, warn })) {
      const done = await pruneNodes(plan, leaving, record, found, opts, connect);
      kept = done.kept;
      removal.changes.push(...done.changes);
      removal.removed = names;
      removal.toRemove = [];
    }
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
    await writeAppliedNodes(opts.clusterDir, appliedRecord(plan, logins(machines), kept));
    hosts = await connect(plan, machines);
  }
  const fileServer =
    opts.dryRun || opts.fileServer === false
      ? undefined
      : await labFileServer(opts.packages.artifacts, plan.network.gateway, opts.log);
  const ctx = phaseContext(plan, hosts, fileServer, opts);
  const done = { wouldCreate: [], problems: [], toRemove: removal.toRemove, removed: removal.removed };
  const unwatch = closeOnAbort(hosts, opts.signal);
  try {
    await runPhases(phases, ctx, opts.status);
    if (opts.dryRun || !phases.includes(kubeadmInitPhase))
      return { changes: [...removal.changes, ...ctx.changes], ...done };
    const config = await kubeconfigFrom(plan, hosts.get(firstControlPlane(plan).name) as Remote);
    const kc = kubeConfig(config);
    const timeoutMs = opts.waitTimeoutMs ?? 300_000;
    await withStatus(opts.status, "Wait for the API server and node registration", () =>
      awaitNodes(kc, plan, hosts, { timeoutMs, signal: opts.signal }),
    );
    await reportStrangers(kc, plan, kept, warn);
    const kubeconfigFiles = await saveKubeconfig(config, opts.clusterDir, opts.kubeconfig ?? userKubeconfigPath());
    const addons = await installAddons(plan, kc, {
      sources: opts.addons,
      timeoutMs,
      force: opts.forceConflicts,
      log: opts.log,
      warn,
      status: opts.status,
      signal: opts.signal,
    });
    const changes = [
      ...removal.changes,
      ...ctx.changes,
      ...(addons?.changed ?? []).map((what) => ({ node: "cluster", what })),
    ];
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

/** A dry run names the nodes that left the file: what --prune would do to them, or that they stay. */
function wouldRemove(
  leaving: readonly AppliedNode[],
  prune: boolean,
  log: (line: string) => void,
  warn: (line: string) => void,
): Change[] {
  const names = leaving.map((n) => n.name).join(", ");
  if (!prune) {
    warn(
      `${names}: no longer in the cluster file, to remove: kubelab up --prune would drain and remove ${leaving.length === 1 ? "it" : "them"}`,
    );
    return [];
  }
  for (const n of leaving) log(`${n.name}: would drain and remove it (no longer in the cluster file)`);
  return leaving.map((n) => ({ node: n.name, what: "drain and remove (no longer in the cluster file)" }));
}

/** The login each running machine was reached by, to record. */
function logins(machines: readonly Machine[]): Map<string, AppliedLogin> {
  return new Map(machines.flatMap((m) => (m.endpoint ? [[m.node, m.endpoint] as const] : [])));
}

/**
 * pruneNodes removes the nodes that left the file, through the plan's first control plane
 * (the cluster's API and etcd); etcd's quorum is checked before anything is touched.
 */
async function pruneNodes(
  plan: Plan,
  leaving: readonly AppliedNode[],
  record: readonly AppliedNode[],
  found: readonly Machine[],
  opts: UpOptions,
  connect: (nodes: Plan, machines: readonly Machine[]) => Promise<Map<string, Remote>>,
): Promise<{ kept: AppliedNode[]; changes: Change[] }> {
  const cp = firstControlPlane(plan);
  const cpHosts = await connect({ ...plan, nodes: [cp] }, found);
  try {
    const controlPlane = cpHosts.get(cp.name) as Remote;
    const kc = kubeConfig(await kubeconfigFrom(plan, controlPlane));
    if (leaving.some((n) => n.role === "control-plane"))
      refuseByQuorum({ members: await memberList(controlPlane), health: await endpointHealth(controlPlane) }, leaving);
    const phase = phaseContext(plan, cpHosts, undefined, opts);
    const names = leaving.map((n) => n.name);
    const kept = await withStatus(
      opts.status,
      `Remove nodes no longer in the cluster file (${names.join(", ")})`,
      () =>
        removeNodes(leaving, {
          phase,
          provider: opts.provider,
          clusterDir: opts.clusterDir,
          kc,
          controlPlane,
          connect: (n) => connectLeaving(n, found, opts),
          record,
          drainTimeoutMs: opts.drainTimeoutMs ?? opts.waitTimeoutMs ?? 300_000,
        }),
      names,
    );
    return { kept, changes: phase.changes };
  } finally {
    await closeAll(cpHosts);
  }
}

/**
 * connectLeaving reaches a node that leaves: where its provider finds it running, or, for an
 * existing host the provider no longer lists, at the login recorded for it. Undefined when it
 * cannot be reached (a machine already gone or stopped): its reset is skipped, the rest goes on.
 */
async function connectLeaving(node: AppliedNode, found: readonly Machine[], opts: UpOptions) {
  const machine = found.find((m) => m.node === node.name);
  const endpoint = machine ? (machine.state === "running" ? machine.endpoint : undefined) : node.ssh;
  if (!endpoint) return undefined;
  try {
    return await sshConnect(node.name, endpoint, {
      knownHostsFile: clusterPaths(opts.clusterDir).knownHosts,
      hostKeyPolicy: hostKeyPolicy(opts.acceptNewHostKeys),
      connectTimeoutMs: opts.sshConnect?.timeoutMs,
      retries: 1,
      signal: opts.signal,
    });
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    opts.log(`${node.name}: ${(e as Error).message}`);
    return undefined;
  }
}

/** reportStrangers warns of Node objects neither in the file nor made by kubelab: they are left alone. */
async function reportStrangers(
  kc: ReturnType<typeof kubeConfig>,
  plan: Plan,
  record: readonly AppliedNode[],
  warn: (line: string) => void,
): Promise<void> {
  let names: string[];
  try {
    names = (await listNodes(kc)).map((n) => n.metadata?.name ?? "");
  } catch (e) {
    warn(`could not list the cluster's nodes: ${apiErrorMessage(e)}`);
    return;
  }
  const strangers = strangerNodes(names, plan, record);
  if (strangers.length > 0)
    warn(
      `the cluster has node${strangers.length === 1 ? "" : "s"} ${strangers.join(", ")}, neither in the cluster file nor made by kubelab: left as ${strangers.length === 1 ? "it is" : "they are"}`,
    );
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
    upgrade: opts.upgrade,
  };
}
