/**
 * A TEST-ONLY pod network for clusters on nspawn nodes, for tests that need Ready nodes
 * before kubelab's Calico addon is in play: the standard CNI `bridge` + `host-local` plugins
 * (the node's CNI plugins) with each node's podCIDR from its Node object, and a route on
 * every node to every other node's podCIDR through that node's lab address. Everything
 * stays on the test bridge.
 */
import type { KubeConfig, V1Node } from "@kubernetes/client-node";
import { listNodes, poll, waitNodes } from "../../src/kube/client.js";
import type { Plan } from "../../src/plan/types.js";
import type { Remote } from "../../src/remote/types.js";

export const TEST_CNI_PATH = "/etc/cni/net.d/10-kubelab-test.conflist";

/** The CNI config list for one node's pod CIDR. */
export function testCniConfig(podCIDR: string): string {
  return `${JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "kubelab-test",
      plugins: [
        {
          type: "bridge",
          bridge: "cni0",
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: { type: "host-local", ranges: [[{ subnet: podCIDR }]], routes: [{ dst: "0.0.0.0/0" }] },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

/** installTestCni writes the config and the routes on every node (idempotent). */
export async function installTestCni(plan: Plan, hosts: ReadonlyMap<string, Remote>, nodes: V1Node[]): Promise<void> {
  const cidr = new Map(nodes.map((n) => [n.metadata?.name ?? "", n.spec?.podCIDR ?? ""]));
  for (const n of plan.nodes)
    if (!cidr.get(n.name)) throw new Error(`${n.name} has no podCIDR (controller-manager allocates them)`);
  await Promise.all(
    plan.nodes.map(async (n) => {
      const remote = hosts.get(n.name) as Remote;
      for (const other of plan.nodes) {
        if (other === n) continue;
        await remote.run(["ip", "route", "replace", cidr.get(other.name) as string, "via", other.ip]);
      }
      await remote.writeFile(TEST_CNI_PATH, testCniConfig(cidr.get(n.name) as string));
    }),
  );
}

/**
 * readyWithTestCni waits for every node's podCIDR (the controller-manager gives them shortly
 * after registration), installs the test pod network and waits until every node is Ready.
 */
export async function readyWithTestCni(plan: Plan, hosts: ReadonlyMap<string, Remote>, kc: KubeConfig): Promise<void> {
  const names = plan.nodes.map((n) => n.name);
  const nodes = await poll(
    "every node's podCIDR",
    async () => {
      const now = await listNodes(kc);
      const without = names.filter((n) => !now.find((o) => o.metadata?.name === n)?.spec?.podCIDR);
      return without.length === 0
        ? { done: true, value: now }
        : { done: false, pending: `no podCIDR yet: ${without.join(", ")}` };
    },
    { timeoutMs: 60_000 },
  );
  await installTestCni(plan, hosts, nodes);
  await waitNodes(kc, names, { ready: true, timeoutMs: 240_000 });
}
