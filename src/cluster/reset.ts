/**
 * Taking the cluster off existing hosts (the ssh provider's `down`): `kubeadm reset` on
 * every node that is part of it, workers first, control planes last, so the hosts are
 * ready for another `up`; with a control-plane VIP, keepalived and HAProxy are stopped on the
 * control planes, which give the VIP up. The hosts themselves stay.
 */
import type { Plan } from "../plan/types.js";
import type { MachineProvider } from "../providers/types.js";
import { closeOnAbort } from "../remote/close-on-abort.js";
import { connectAll, hostKeyPolicy } from "../remote/connect-all.js";
import { forEachHost } from "../remote/hosts.js";
import type { Remote } from "../remote/types.js";
import { HA_PACKAGES, KEEPALIVED_CONF_PATH, renderHaFiles } from "../render/ha.js";

/** Files whose presence means kubeadm set the node up (init or join). */
const KUBEADM_FILES = [
  "/etc/kubernetes/kubelet.conf",
  "/etc/kubernetes/admin.conf",
  "/etc/kubernetes/manifests/kube-apiserver.yaml",
];

/**
 * resetNodes runs `kubeadm reset` where kubeadm left anything; returns the nodes it reset.
 * Aborting `signal` closes the connections, ending what runs on them.
 */
export async function resetNodes(
  plan: Plan,
  provider: MachineProvider,
  clusterDir: string,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<string[]> {
  const machines = await provider.list(plan, { clusterDir, log, signal });
  const hosts = await connectAll(plan, machines, { clusterDir, policy: hostKeyPolicy(), concurrency: 8, signal });
  const reset: string[] = [];
  const unwatch = closeOnAbort(hosts, signal);
  try {
    const resetOne = async (node: string, remote: Remote) => {
      const test = await remote.exec([
        "sh",
        "-c",
        'for f in "$@"; do [ -e "$f" ] && exit 0; done; exit 1',
        "sh",
        ...KUBEADM_FILES,
      ]);
      if (test.code === 0) {
        log(`${node}: kubeadm reset`);
        await remote.run(["kubeadm", "reset", "--force"], { timeoutMs: 300_000 });
        reset.push(node);
      }
      await releaseVip(plan, node, remote, log);
    };

    for (const role of ["worker", "control-plane"] as const) {
      await forEachHost(
        plan.nodes.filter((n) => n.role === role),
        (n) => n.name,
        (n) => resetOne(n.name, hosts.get(n.name) as Remote),
        { concurrency: role === "worker" ? 8 : 1, signal },
      );
    }
  } finally {
    unwatch();
    await Promise.all([...hosts.values()].map((h) => h.close()));
  }
  return reset;
}

/**
 * releaseVip takes the control-plane VIP off a control plane: keepalived and HAProxy stopped
 * and disabled, kubelab's configuration of them removed, so the host gives the VIP up (the
 * packages stay, as containerd and kubeadm do). Nothing for a worker, or without a VIP.
 */
export async function releaseVip(plan: Plan, node: string, remote: Remote, log: (line: string) => void): Promise<void> {
  const files = renderHaFiles(plan, node, "any").map((f) => f.path);
  if (files.length === 0) return;
  // keepalived.conf is written first: without it, this host never held the VIP for the cluster.
  if ((await remote.exec(["test", "-e", KEEPALIVED_CONF_PATH])).code !== 0) return;
  log(`${node}: stop keepalived and HAProxy, remove their configuration`);
  // Not installed (an unfinished up) is no failure: there is nothing to stop.
  await remote.exec(["systemctl", "disable", "--now", ...HA_PACKAGES]);
  await remote.run(["rm", "-f", ...files]);
}
