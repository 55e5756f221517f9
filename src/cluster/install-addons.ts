import type { KubeConfig } from "@kubernetes/client-node";
import { type AddonsResult, applyAddons, enabledAddons, renderAddons } from "../addons/index.js";
import type { AddonSources } from "../addons/sources.js";
import type { Status } from "../phases/phase.js";
import type { Plan } from "../plan/types.js";
import { withStatus } from "./with-status.js";

/** What {@link installAddons} needs from `up`'s options. */
export interface InstallAddonsOptions {
  /** Where manifests, charts and helm come from; `false` skips the addons. */
  readonly sources: AddonSources | false | undefined;
  readonly timeoutMs: number;
  /** Take back fields changed outside kubelab instead of stopping at the conflict. */
  readonly force?: boolean;
  readonly log: (line: string) => void;
  readonly warn: (line: string) => void;
  readonly status: Status;
  readonly signal?: AbortSignal;
}

/**
 * installAddons renders every enabled addon (reading all its sources first, so a bad
 * download stops before anything is applied), then applies and awaits them step by step.
 * Undefined when there is nothing to install.
 */
export async function installAddons(
  plan: Plan,
  kc: KubeConfig,
  opts: InstallAddonsOptions,
): Promise<AddonsResult | undefined> {
  if (opts.sources === false || enabledAddons(plan).length === 0) return undefined;
  if (opts.sources === undefined) throw new Error("up: the plan enables addons but no addon sources were given");
  const sources = opts.sources;
  const rendered = await withStatus(opts.status, "Render addons", () =>
    renderAddons({ plan, sources, cluster: kc, now: new Date(), warn: opts.warn }),
  );
  return applyAddons(kc, rendered, {
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    log: opts.log,
    force: opts.force,
    status: (what, f) => withStatus(opts.status, what, f),
  });
}
