/**
 * The addons kubelab installs, in order, and the one way they are applied: every addon's
 * sources are read and its objects rendered first (a bad checksum or an unreachable URL stops
 * the run before anything is applied), then step by step, server-side apply (CRDs first,
 * Established before use) and a wait for the step's workloads and its own readiness.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { ChartRef } from "../artifacts/chart-repository.js";
import { type ApplyOptions, applyObjects } from "../kube/apply.js";
import { poll, type WaitOptions } from "../kube/client.js";
import { waitWorkloads } from "../kube/ready.js";
import type { Plan } from "../plan/types.js";
import type { PinnedFile } from "../versions.js";
import { calico } from "./calico.js";
import { linkerd } from "./linkerd.js";
import { metallb } from "./metallb.js";
import type { Addon, AddonContext, AddonStep } from "./types.js";
import { ui } from "./ui.js";

/** Every addon, in apply order: the network first, then what needs it. */
export const ADDONS: readonly Addon[] = [calico, metallb, ui, linkerd];

/** The addons a plan enables. */
export const enabledAddons = (plan: Plan) => ADDONS.filter((a) => a.enabled(plan));

/** Every pinned manifest the plan's addons apply (what a bundle must carry). */
export const addonManifests = (plan: Plan): PinnedFile[] => enabledAddons(plan).flatMap((a) => a.manifests(plan));

/** Every chart the plan's addons render. */
export const addonCharts = (plan: Plan): ChartRef[] => enabledAddons(plan).flatMap((a) => a.charts(plan));

/** An addon's rendered steps. */
export interface RenderedAddon {
  readonly addon: Addon;
  readonly steps: readonly AddonStep[];
}

/** renderAddons reads every source and renders every step of the plan's addons (nothing is applied). */
export async function renderAddons(ctx: AddonContext): Promise<RenderedAddon[]> {
  // One after another: a bad source stops the rendering before any later addon's is read.
  const out: RenderedAddon[] = [];
  for (const addon of enabledAddons(ctx.plan)) out.push({ addon, steps: await addon.steps(ctx) });
  return out;
}

/** What applying the addons did. */
export interface AddonsResult {
  /** Objects created or changed (`Kind ns/name`); empty when everything was already as wanted. */
  readonly changed: readonly string[];
  /** Lines for the user (the UI's URL). */
  readonly notes: readonly string[];
}

const WEBHOOK_NOT_READY = /failed calling webhook|no endpoints available|connection refused|service unavailable/i;

/**
 * applyAddons applies the rendered steps in order, waiting after each for its workloads and
 * its own readiness; a failure names the addon and step.
 */
export async function applyAddons(
  kc: KubeConfig,
  rendered: readonly RenderedAddon[],
  opts: ApplyOptions & {
    status?: (what: string, run: () => Promise<void>) => Promise<void>;
  },
): Promise<AddonsResult> {
  const changed: string[] = [];
  const notes: string[] = [];
  const run = opts.status ?? ((_what: string, f: () => Promise<void>) => f());
  for (const { addon, steps } of rendered) {
    for (const step of steps) {
      await run(step.what, async () => {
        try {
          if (step.before) changed.push(...(await step.before(kc, opts)));
          const apply = () => applyObjects(kc, step.objects, opts);
          const result = step.webhook ? await retryWhileWebhookStarts(apply, opts) : await apply();
          changed.push(...result.changed);
          await waitWorkloads(kc, step.objects, { ...opts, what: step.what });
          if (step.ready) notes.push(...(await step.ready(kc, opts)));
        } catch (e) {
          (e as Error).message = `${addon.name}: ${step.what}: ${(e as Error).message}`;
          throw e;
        }
      });
    }
  }
  return { changed, notes };
}

/** Retries an apply refused because a webhook's server does not answer yet. */
function retryWhileWebhookStarts<T>(apply: () => Promise<T>, opts: WaitOptions): Promise<T> {
  return poll(
    "webhook",
    async () => {
      try {
        return { done: true, value: await apply() };
      } catch (e) {
        const message = (e as Error).message;
        if (!WEBHOOK_NOT_READY.test(message)) throw e;
        return { done: false, pending: message };
      }
    },
    { intervalMs: 2_000, ...opts },
  );
}
