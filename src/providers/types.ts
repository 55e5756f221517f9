/**
 * Machine providers: where nodes come from. A provider creates, finds and removes the
 * machines of a plan and says how to reach them over SSH. The machines themselves carry
 * the cluster's state (a label file on each node), so there is no local state to drift.
 */
import type { Plan } from "../plan/types.js";
import type { SshEndpoint } from "../remote/types.js";
import type { NodeEnvironment } from "../render/node-environment.js";
import type { RenderedFile } from "../render/types.js";

/** A node's machine as the provider finds it. */
export interface Machine {
  readonly node: string;
  readonly state: "running" | "stopped" | "absent";
  /** How to reach it; present when running. */
  readonly endpoint?: SshEndpoint;
}

/** What providers get from the caller. */
export interface ProviderContext {
  /** The cluster directory (.kubelab/<name>/): keys, known_hosts, logs. */
  readonly clusterDir: string;
  /** Progress and detail lines. */
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** The provider interface every machine source implements. */
export interface MachineProvider {
  readonly name: Plan["provider"]["name"];
  /**
   * What the machines this provider makes are known to be, before any facts are gathered
   * (`kubelab render`); on a running node its gathered facts decide instead.
   */
  readonly nodeEnvironment: NodeEnvironment;
  /** clusterFiles renders the files the provider keeps in the cluster directory (for `kubelab render`). */
  clusterFiles?(plan: Plan): RenderedFile[];
  /** create makes and starts every machine of the plan that is not running; running ones are left alone. */
  create(plan: Plan, ctx: ProviderContext): Promise<Machine[]>;
  /** list finds the plan's machines as they are now, from the host and the machines themselves. */
  list(plan: Plan, ctx: ProviderContext): Promise<Machine[]>;
  /** destroy stops and removes the machines and everything the provider made for them. */
  destroy(plan: Plan, ctx: ProviderContext): Promise<void>;
  /** logs returns the last lines of a node's system log, for error reports. */
  logs(plan: Plan, node: string, ctx: ProviderContext): Promise<string>;
}
