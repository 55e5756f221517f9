/**
 * up: machines, then node preparation, as an ordered list of phases (k0sctl style).
 * Every phase decides from facts; a second run on an unchanged plan changes nothing.
 */

import { type FileServer, hostHasAddress, serveArtifacts } from "../artifacts/serve.js";
import { configureOsPhase } from "../phases/configure-os.js";
import { gatherFactsPhase } from "../phases/gather-facts.js";
import { installContainerdPhase } from "../phases/install-containerd.js";
import { installKubernetesPhase } from "../phases/install-kubernetes.js";
import type { PackageSource } from "../phases/packages.js";
import { type Change, type Phase, type PhaseContext, runPhases, type Status } from "../phases/phase.js";
import { startContainerdPhase } from "../phases/start-containerd.js";
import { validateHostsPhase } from "../phases/validate-hosts.js";
import { writeFilesPhase } from "../phases/write-files.js";
import type { Plan } from "../plan/types.js";
import type { MachineProvider } from "../providers/types.js";
import type { HostKeyPolicy } from "../remote/known-hosts.js";
import type { Remote } from "../remote/types.js";
import { connectAll } from "./connect.js";

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
  readonly phases?: readonly Phase[];
  /**
   * Let nodes fetch release files from a file server on the host's lab address (when the
   * host has that address); otherwise, or when a node cannot reach it, they go over SSH.
   * @default true
   */
  readonly fileServer?: boolean;
  readonly log: (line: string) => void;
  readonly status: Status;
  readonly signal?: AbortSignal;
}

/** What up did (or, in a dry run, would do). */
export interface UpResult {
  readonly changes: readonly Change[];
  /** Machines a dry run would create (they do not exist yet, so nothing else can be known). */
  readonly wouldCreate: readonly string[];
}

/**
 * hostKeyPolicy: a host's key is recorded on first contact (machines kubelab made, and
 * existing hosts alike); a key that changes later is refused unless the user accepts it.
 */
export function hostKeyPolicy(acceptNew = false): HostKeyPolicy {
  return acceptNew ? "accept-new" : "trust-on-first-use";
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
    opts.status.start(`Create machines (${absent.join(", ")})`);
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
  try {
    await runPhases(opts.phases ?? PREPARE_PHASES, ctx, opts.status);
  } finally {
    await Promise.all([...hosts.values()].map((h) => h.close().catch(() => {})));
    await fileServer?.close();
  }
  return { changes: ctx.changes, wouldCreate: [] };
}
