/**
 * The cluster's kubeconfig on this host: fetched from the first control plane over SSH,
 * kept in the cluster directory, merged into the user's kubeconfig, removed again by down.
 */

import { UserError } from "../errors.js";
import { clusterKubeconfig, contextName, mergeIntoFile, removeFromFile, writePrivateFile } from "../kube/kubeconfig.js";
import { ADMIN_CONF } from "../phases/kubeadm.js";
import { clusterPaths, ensureClusterDir } from "../plan/cluster-dir.js";
import { firstControlPlane } from "../plan/control-plane.js";
import type { Plan } from "../plan/types.js";
import type { MachineProvider } from "../providers/types.js";
import { connectAll, hostKeyPolicy } from "../remote/connect-all.js";
import type { Remote } from "../remote/types.js";

/** kubeconfigFrom reads admin.conf on the first control plane and makes the cluster's kubeconfig. */
export async function kubeconfigFrom(plan: Plan, cp: Remote): Promise<string> {
  const admin = await cp.readFile(ADMIN_CONF);
  if (admin === undefined)
    throw new UserError(`${cp.node} has no ${ADMIN_CONF}: the cluster is not initialised`, {
      exitCode: 1,
      hint: "run kubelab up",
    });
  return clusterKubeconfig(admin, plan);
}

/** fetchKubeconfig connects to the first control plane and returns the cluster's kubeconfig. */
export async function fetchKubeconfig(plan: Plan, provider: MachineProvider, clusterDir: string): Promise<string> {
  const machines = await provider.list(plan, { clusterDir, log: () => {} });
  const cp = firstControlPlane(plan);
  const machine = machines.find((m) => m.node === cp.name);
  if (machine?.state !== "running")
    throw new UserError(`${cp.name} is ${machine?.state ?? "absent"}${machine?.reason ? ` (${machine.reason})` : ""}`, {
      exitCode: 1,
      hint: "run kubelab up",
    });
  const one = { ...plan, nodes: [cp] };
  const hosts = await connectAll(one, machines, { clusterDir, policy: hostKeyPolicy(), concurrency: 1 });
  try {
    return await kubeconfigFrom(plan, hosts.get(cp.name) as Remote);
  } finally {
    await Promise.all([...hosts.values()].map((h) => h.close()));
  }
}

/**
 * saveKubeconfig writes the cluster directory's copy and, unless `merge` is false, merges the
 * context into the user's kubeconfig; returns the files written.
 */
export async function saveKubeconfig(config: string, clusterDir: string, merge: string | false): Promise<string[]> {
  const own = clusterPaths(clusterDir).kubeconfig;
  await ensureClusterDir(clusterDir);
  await writePrivateFile(own, config);
  if (merge === false) return [own];
  await mergeIntoFile(merge, config);
  return [own, merge];
}

/** forgetKubeconfig removes the cluster's context from the user's kubeconfig; true when it was there. */
export function forgetKubeconfig(plan: Plan, userFile: string): Promise<boolean> {
  return removeFromFile(userFile, contextName(plan));
}
