/**
 * An addon, the one shape every addon has: pinned sources (upstream manifests by URL +
 * sha256, or Helm charts rendered with the pinned helm), kubelab's transforms of them, the
 * objects kubelab owns, and the readiness that says the addon works. Adding an addon is one
 * file exporting an {@link Addon} and one line in ADDONS (src/addons/index.ts).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { ChartRef } from "../artifacts/chart-repository.js";
import type { WaitOptions } from "../kube/client.js";
import type { Plan } from "../plan/types.js";
import type { KubeObject } from "../render/types.js";
import type { PinnedFile } from "../versions.js";
import type { AddonSources } from "./sources.js";

/** What an addon is made from and where it goes. */
export interface AddonContext {
  readonly plan: Plan;
  readonly sources: AddonSources;
  /**
   * The cluster, for state an addon keeps in it (Linkerd's trust anchor). Absent when
   * rendering without a cluster (`kubelab render`, bundle creation): addons then make fresh state.
   */
  readonly cluster?: KubeConfig;
  readonly now: Date;
  readonly warn: (line: string) => void;
}

/** Objects applied together, then awaited, before the next step starts. */
export interface AddonStep {
  readonly what: string;
  readonly objects: readonly KubeObject[];
  /**
   * Objects checked by a webhook whose server is part of an earlier step: the server may
   * refuse connections for a few seconds after its pods are Ready, so the apply is retried
   * while the error is the webhook call, until the wait timeout.
   */
  readonly webhook?: boolean;
  /** Runs before the apply (e.g. fixing a setting an existing cluster lacks); returns what it changed. */
  readonly before?: (kc: KubeConfig, opts: WaitOptions) => Promise<readonly string[]>;
  /**
   * Readiness beyond the step's Deployments, DaemonSets and StatefulSets (which are always
   * awaited); returns lines for the user (a URL, an address).
   */
  readonly ready?: (kc: KubeConfig, opts: WaitOptions) => Promise<readonly string[]>;
}

/** One addon. */
export interface Addon {
  readonly name: string;
  enabled(plan: Plan): boolean;
  /** The pinned manifests it applies (an offline bundle carries the same). */
  manifests(plan: Plan): readonly PinnedFile[];
  /** The charts it renders. */
  charts(plan: Plan): readonly ChartRef[];
  /** The steps, in order; every source is read here, before anything is applied. */
  steps(ctx: AddonContext): Promise<readonly AddonStep[]>;
}
