/**
 * Whether Linkerd's proxy injector really injects. Its Deployment can be Available while the
 * API server cannot reach its webhook yet (the Service's endpoints and the nodes' Service rules
 * lag by a few seconds), and the webhook fails open (failurePolicy Ignore): a meshed workload
 * created in that window silently starts without a proxy. So `up` waits until a server-side dry
 * run of an annotated Pod comes back with the proxy in it; nothing is created.
 */
import { CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { apiErrorMessage, poll, type WaitOptions } from "../kube/client.js";

/** Where the probe Pod is dry-run: a namespace the injector's namespaceSelector lets through. */
const PROBE_NAMESPACE = "default";

/** The probe: annotated for injection; never stored (dry run), so its image is never pulled. */
const probePod: V1Pod = {
  metadata: { name: "kubelab-injection-probe", annotations: { "linkerd.io/inject": "enabled" } },
  spec: { containers: [{ name: "probe", image: "kubelab.invalid/probe:never-pulled" }] },
};

/** hasProxy: the pod carries Linkerd's proxy, as a container or as a native sidecar. */
export const hasProxy = (pod: V1Pod): boolean =>
  [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].some((c) => c.name === "linkerd-proxy");

/** waitForInjection polls until a dry-run Pod is injected, or the wait times out saying why not. */
export async function waitForInjection(kc: KubeConfig, opts: WaitOptions): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await poll(
    "Linkerd's proxy injector injecting pods",
    async () => {
      try {
        const pod = await core.createNamespacedPod({ namespace: PROBE_NAMESPACE, body: probePod, dryRun: "All" });
        return hasProxy(pod)
          ? { done: true, value: undefined }
          : {
              done: false,
              pending: "a pod created now would get no proxy (the injector's webhook does not answer yet)",
            };
      } catch (err) {
        return { done: false, pending: apiErrorMessage(err) };
      }
    },
    { ...opts, intervalMs: opts.intervalMs ?? 2_000 },
  );
}
