/**
 * Taking the cluster off existing hosts (the ssh provider's `down`): `kubeadm reset` on
 * every node that is part of it, workers first, control planes last, so the hosts are
 * ready for another `up`; with a control-plane VIP, keepalived and HAProxy are stopped on the
 * control planes, which give the VIP up. The hosts themselves stay. `up --prune` resets a node
 * it removes the same way.
 */
import type { Plan } from "../plan/types.js";
import type { MachineProvider } from "../providers/types.js";
import { closeOnAbort } from "../remote/close-on-abort.js";
import { connectAll, hostKeyPolicy } from "../remote/connect-all.js";
import { forEachHost } from "../remote/hosts.js";
import type { Remote } from "../remote/types.js";
import {
  HA_PACKAGES,
  HAPROXY_CFG_PATH,
  KEEPALIVED_CHECK_PATH,
  KEEPALIVED_CONF_PATH,
  renderHaFiles,
} from "../render/ha.js";

/** Files whose presence means kubeadm set the node up (init or join). */
const KUBEADM_FILES = [
  "/etc/kubernetes/kubelet.conf",
  "/etc/kubernetes/admin.conf",
  "/etc/kubernetes/manifests/kube-apiserver.yaml",
];

/** kubeadmLeftFiles says whether kubeadm set the node up (init or join): whether a reset has anything to do. */
export async function kubeadmLeftFiles(remote: Remote): Promise<boolean> {
  const test = await remote.exec([
    "sh",
    "-c",
    'for f in "$@"; do [ -e "$f" ] && exit 0; done; exit 1',
    "sh",
    ...KUBEADM_FILES,
  ]);
  return test.code === 0;
}

/** The reset itself (it also takes a control plane's member out of etcd when it can reach it). */
export const KUBEADM_RESET = ["kubeadm", "reset", "--force"];

/**
 * kubeadmReset runs `kubeadm reset --force` on a node where kubeadm left anything; returns
 * whether it ran.
 */
async function kubeadmReset(node: string, remote: Remote, log: (line: string) => void): Promise<boolean> {
  if (!(await kubeadmLeftFiles(remote))) return false;
  log(`${node}: kubeadm reset`);
  await remote.run(KUBEADM_RESET, { timeoutMs: 300_000 });
  return true;
}

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
      if (await kubeadmReset(node, remote, log)) reset.push(node);
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
  if (renderHaFiles(plan, node, "any").length === 0) return;
  await stopVip(node, remote, log);
}

/** heldVip says whether kubelab configured keepalived on the host (it writes keepalived.conf first). */
export const heldVip = async (remote: Remote): Promise<boolean> =>
  (await remote.exec(["test", "-e", KEEPALIVED_CONF_PATH])).code === 0;

/**
 * stopVip stops keepalived and HAProxy where kubelab configured them and removes their files,
 * so the host gives the VIP up (also a control plane that left the file, which the plan no
 * longer renders for).
 */
export async function stopVip(node: string, remote: Remote, log: (line: string) => void): Promise<void> {
  if (!(await heldVip(remote))) return;
  log(`${node}: stop keepalived and HAProxy, remove their configuration`);
  // Not installed (an unfinished up) is no failure: there is nothing to stop.
  await remote.exec(["systemctl", "disable", "--now", ...HA_PACKAGES]);
  await remote.run(["rm", "-f", KEEPALIVED_CONF_PATH, KEEPALIVED_CHECK_PATH, HAPROXY_CFG_PATH]);
}
