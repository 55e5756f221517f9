import type { KubeConfig } from "@kubernetes/client-node";
import { WaitTimeout, waitApiReady, waitNodes } from "../kube/client.js";
import { kubeletTail } from "../phases/kubeadm.js";
import type { Plan } from "../plan/types.js";
import type { Remote } from "../remote/types.js";

/**
 * awaitNodes waits for the API server and for every node of the plan to register, from
 * this host through the lab network. A node that does not register is reported with the
 * last lines its kubelet logged, which is what explains most such failures.
 */
export async function awaitNodes(
  kc: KubeConfig,
  plan: Plan,
  hosts: ReadonlyMap<string, Remote>,
  wait: { timeoutMs: number; signal?: AbortSignal },
): Promise<void> {
  await waitApiReady(kc, wait);
  await waitNodes(
    kc,
    plan.nodes.map((n) => n.name),
    wait,
  ).catch(async (e) => {
    if (!(e instanceof WaitTimeout)) throw e;
    const missing = plan.nodes.filter((n) => e.message.includes(n.name));
    const tails = await Promise.all(
      missing.map(async (n) => {
        const tail = await kubeletTail(hosts.get(n.name) as Remote, 15).catch((err: Error) => err.message);
        return `--- ${n.name}: kubelet's last lines:\n${tail}`;
      }),
    );
    throw new WaitTimeout([e.message, ...tails].join("\n"));
  });
}
