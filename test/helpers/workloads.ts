/**
 * Stands in for the kubelet and controllers on an API server without nodes: writes the
 * status a healthy rollout reaches (Deployment available, DaemonSet ready on `nodes` nodes)
 * for every workload, except those named in `stuck`, whose pods the test describes itself.
 */
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AppsV1Api, type KubeConfig } from "@kubernetes/client-node";

export interface WorkloadSimulator {
  /** Stops writing statuses (and waits for the current pass). */
  stop(): Promise<void>;
}

export function simulateWorkloads(
  t: TestContext,
  kc: KubeConfig,
  opts: { nodes?: number; stuck?: readonly string[] } = {},
): WorkloadSimulator {
  const apps = kc.makeApiClient(AppsV1Api);
  const nodes = opts.nodes ?? 3;
  const stuck = new Set(opts.stuck ?? []);
  let running = true;
  const pass = async () => {
    for (const d of (await apps.listDeploymentForAllNamespaces()).items) {
      const name = d.metadata?.name ?? "";
      const namespace = d.metadata?.namespace ?? "";
      const want = d.spec?.replicas ?? 1;
      if (
        stuck.has(name) ||
        (d.status?.observedGeneration === d.metadata?.generation && d.status?.availableReplicas === want)
      )
        continue;
      await apps
        .replaceNamespacedDeploymentStatus({
          name,
          namespace,
          body: {
            ...d,
            status: {
              observedGeneration: d.metadata?.generation,
              replicas: want,
              updatedReplicas: want,
              readyReplicas: want,
              availableReplicas: want,
              conditions: [{ type: "Available", status: "True", reason: "MinimumReplicasAvailable" }],
            },
          },
        })
        .catch(() => {});
    }
    for (const d of (await apps.listDaemonSetForAllNamespaces()).items) {
      const name = d.metadata?.name ?? "";
      if (
        stuck.has(name) ||
        (d.status?.observedGeneration === d.metadata?.generation && d.status?.numberReady === nodes)
      )
        continue;
      await apps
        .replaceNamespacedDaemonSetStatus({
          name,
          namespace: d.metadata?.namespace ?? "",
          body: {
            ...d,
            status: {
              observedGeneration: d.metadata?.generation,
              desiredNumberScheduled: nodes,
              currentNumberScheduled: nodes,
              updatedNumberScheduled: nodes,
              numberReady: nodes,
              numberAvailable: nodes,
              numberMisscheduled: 0,
            },
          },
        })
        .catch(() => {});
    }
  };
  const loop = (async () => {
    while (running) {
      await pass().catch(() => {});
      await sleep(200);
    }
  })();
  const stop = async () => {
    running = false;
    await loop;
  };
  t.after(stop);
  return { stop };
}
