/**
 * The web UI: Headlamp (default) or the archived Kubernetes Dashboard v2.7.0, from its pinned
 * manifest, plus kubelab's login account and LoadBalancer Service (src/render/ui.ts). Ready
 * when the UI Deployment is available and, with MetalLB, the Service has its address.
 * Logins use short-lived tokens from the TokenRequest API ({@link uiAccess}), never a stored
 * token Secret.
 */
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { poll, type WaitOptions } from "../kube/client.js";
import type { Plan } from "../plan/types.js";
import { parseManifest } from "../render/manifests.js";
import { transformHeadlamp, UI_ADMIN, UI_SERVICE, uiObjects, uiTarget } from "../render/ui.js";
import { PINNED } from "../versions.js";
import type { Addon } from "./types.js";

const manifestOf = (plan: Plan) =>
  plan.addons.ui.kind === "dashboard" ? PINNED.dashboard.manifest : PINNED.headlamp.manifest;

/** The UI's URL once its LoadBalancer Service has an address (waits for it). */
export async function uiUrl(kc: KubeConfig, plan: Plan, opts: WaitOptions = {}): Promise<string> {
  const target = uiTarget(plan);
  if (!target) throw new Error("the cluster file has ui: none");
  const core = kc.makeApiClient(CoreV1Api);
  const address = await poll(
    `Service ${target.namespace}/${UI_SERVICE} LoadBalancer address`,
    async () => {
      const svc = await core.readNamespacedService({ name: UI_SERVICE, namespace: target.namespace });
      const ingress = svc.status?.loadBalancer?.ingress?.[0];
      const ip = ingress?.ip ?? ingress?.hostname;
      return ip
        ? { done: true, value: ip }
        : { done: false, pending: "no address yet (is MetalLB running, with a free address in its pool?)" };
    },
    opts,
  );
  const scheme = target.port === 443 ? "https" : "http";
  const port = target.port === 443 || target.port === 80 ? "" : `:${target.port}`;
  return `${scheme}://${address}${port}/`;
}

/** A fresh login token for the UI account, from the TokenRequest API. */
export async function uiToken(kc: KubeConfig, plan: Plan, ttlSeconds = 3600): Promise<string> {
  const target = uiTarget(plan);
  if (!target) throw new Error("the cluster file has ui: none");
  const core = kc.makeApiClient(CoreV1Api);
  const res = await core.createNamespacedServiceAccountToken({
    name: UI_ADMIN,
    namespace: target.namespace,
    body: { spec: { expirationSeconds: ttlSeconds, audiences: [] } },
  });
  const token = res.status?.token;
  if (!token) throw new Error(`the API server returned no token for ServiceAccount ${target.namespace}/${UI_ADMIN}`);
  return token;
}

export const ui: Addon = {
  name: "ui",
  enabled: (plan) => plan.addons.ui.kind !== "none",
  manifests: (plan) => [manifestOf(plan)],
  charts: () => [],
  async steps({ plan, sources, warn }) {
    const upstream = parseManifest(await sources.manifest(manifestOf(plan)));
    const dashboard = plan.addons.ui.kind === "dashboard";
    if (dashboard)
      warn(
        `ui: dashboard is the Kubernetes Dashboard ${PINNED.dashboard.version}, archived upstream (no fixes); headlamp is maintained`,
      );
    const objects = [...(dashboard ? upstream : transformHeadlamp(upstream, plan)), ...uiObjects(plan)];
    return [
      {
        what: dashboard ? `Kubernetes Dashboard ${PINNED.dashboard.version}` : `Headlamp ${PINNED.headlamp.version}`,
        objects,
        ready: plan.addons.metallb.enabled
          ? async (kc, opts) => [`UI ${await uiUrl(kc, plan, opts)} (log in with the token from: kubelab ui)`]
          : undefined,
      },
    ];
  },
};
