/**
 * Machine providers: where nodes come from. A provider creates, finds and removes the
 * machines of a plan and says how to reach them over SSH. What exists is asked anew each
 * time from where it is recorded anyway (nspawn's label file on each node, `vagrant status`,
 * the hosts an ssh plan names), so kubelab keeps no machine state of its own to drift.
 */
import type { Plan } from "../plan/types.js";
import type { SshEndpoint } from "../remote/types.js";
import type { NodeEnvironment } from "../render/node-environment.js";
import type { RenderedFile } from "../render/types.js";

/**
 * A node's machine as the provider finds it. Machines kubelab makes are running, stopped or
 * absent; an existing host (ssh provider) is running when it answers, else unreachable.
 */
export interface Machine {
  readonly node: string;
  readonly state: "running" | "stopped" | "absent" | "unreachable";
  /** How to reach it; present when running (and for an existing host, always). */
  readonly endpoint?: SshEndpoint;
  /** Why it cannot be reached (ssh provider: ECONNREFUSED, a timeout...); only when unreachable. */
  readonly reason?: string;
}

/** Options of {@link MachineProvider.stop}. */
export interface StopOptions {
  /** The machines' state is thrown away next: power off at once, without a clean shutdown. */
  readonly discard?: boolean;
}

/** HostProblem is something on this host that stops `up`, and what to do about it. */
export interface HostProblem {
  /** Stable id, `area.what`, e.g. `virtualbox.missing`. */
  readonly id: string;
  readonly message: string;
  readonly fix: string;
}

/** What providers get from the caller. */
export interface ProviderContext {
  /** The cluster directory (.kubelab/<name>/): SSH key, known_hosts, logs, the Vagrantfile. */
  readonly clusterDir: string;
  /** Progress and detail lines. */
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** The provider interface every machine source implements. */
export interface MachineProvider {
  readonly name: Plan["provider"]["name"];
  /**
   * What this provider's machines are known to be before any facts are gathered
   * (`kubelab render`); on a running node its gathered facts decide instead.
   */
  readonly nodeEnvironment: NodeEnvironment;
  /** clusterFiles renders the files the provider keeps in the cluster directory (for `kubelab render`). */
  clusterFiles?(plan: Plan): RenderedFile[];
  /**
   * create makes and starts every machine of the plan that is not running; running ones are
   * left alone. The ssh provider makes nothing: it lists the hosts as they are.
   */
  create(plan: Plan, ctx: ProviderContext): Promise<Machine[]>;
  /**
   * check runs the host checks `create` runs before it makes the machines that `machines`
   * (what `list` found) lack, and returns every problem; `create` throws for them, a dry run
   * reports them. Absent when the provider has nothing to check.
   */
  check?(plan: Plan, machines: readonly Machine[], ctx: ProviderContext): Promise<HostProblem[]>;
  /** list finds the plan's machines as they are now, from the host and the machines themselves. */
  list(plan: Plan, ctx: ProviderContext): Promise<Machine[]>;
  /**
   * stop powers the named nodes' machines off and keeps them (their disks, their addresses);
   * machines already stopped are left alone. The ssh provider cannot power existing hosts off:
   * it stops the cluster's services there (kubelet, the pods, containerd) and the hosts stay.
   * With `discard`, what runs on the machines is thrown away next (a snapshot is restored over
   * them): no clean shutdown is waited for.
   */
  stop(plan: Plan, nodes: readonly string[], ctx: ProviderContext, opts?: StopOptions): Promise<void>;
  /**
   * start boots the named nodes' stopped machines again, with what they need on this host
   * (nspawn's bridge), and waits until each answers SSH; running ones are left alone. A
   * machine that does not exist is not made (that is `create`'s): start refuses it. The ssh
   * provider starts containerd and kubelet again.
   */
  start(plan: Plan, nodes: readonly string[], ctx: ProviderContext): Promise<void>;
  /** destroy stops and removes the machines and everything the provider made for them (existing hosts stay). */
  destroy(plan: Plan, ctx: ProviderContext): Promise<void>;
  /**
   * remove stops and removes the machines of `nodes`, nodes the plan no longer has (by name,
   * as `list` reports them), and what the provider made for each; the rest of the cluster's
   * machines stay. Absent when the provider makes no machines (existing hosts stay).
   */
  remove?(plan: Plan, nodes: readonly string[], ctx: ProviderContext): Promise<void>;
  /**
   * logs returns the last lines of a node's system log (console and journal), for looking
   * into a machine that failed to come up; `up` itself does not call it.
   */
  logs(plan: Plan, node: string, ctx: ProviderContext): Promise<string>;
  /**
   * Whole-machine snapshots of the plan's nodes, taken and put back while the machines are
   * stopped (the caller stops and starts them). Absent when the provider cannot snapshot its
   * machines (existing hosts).
   */
  readonly snapshot?: MachineSnapshots;
}

/** One node's disk in a snapshot, as the provider took it. */
export interface SnapshotDisk {
  readonly node: string;
  /** Where the provider keeps it (nspawn: a directory on this host; vagrant: the VM's snapshot name). */
  readonly location: string;
  /** Bytes on this host's disk this node's copy takes beyond earlier snapshots, when the provider can tell. */
  readonly addedBytes?: number;
  /** Bytes of the node's copy as a whole (shared files included), when the provider can tell. */
  readonly bytes?: number;
}

/** What a provider does for `kubelab snapshot`: every method works on stopped machines. */
export interface MachineSnapshots {
  /** save copies each node's disk into snapshot `name`, replacing one of that name. */
  save(plan: Plan, name: string, nodes: readonly string[], ctx: ProviderContext): Promise<SnapshotDisk[]>;
  /** restore replaces each node's disk with its copy in snapshot `name`. */
  restore(plan: Plan, name: string, nodes: readonly string[], ctx: ProviderContext): Promise<void>;
  /** delete removes snapshot `name` of every node that has it. */
  delete(plan: Plan, name: string, nodes: readonly string[], ctx: ProviderContext): Promise<void>;
  /** list names the snapshots the provider has of `node`. */
  list(plan: Plan, node: string, ctx: ProviderContext): Promise<string[]>;
}
