/**
 * What kind of machine a node is, as far as the files rendered for it care. Renderers take
 * it as an argument and never guess it from the plan: the same cluster file may run on
 * VMs, on containers kubelab made, or on existing hosts that happen to be containers.
 */

/**
 * NodeEnvironment describes a node. It comes from the facts gathered on the node
 * (`systemd-detect-virt --container`, the cgroup hierarchy) or, before there are any,
 * from what the machine provider declares about the machines it makes.
 */
export interface NodeEnvironment {
  /**
   * The node is a container sharing the host's kernel (systemd-nspawn, LXC, ...): it has no
   * /sys/module, and runc there lacks CAP_SYS_RESOURCE, so it cannot give a container a
   * negative oom_score_adj.
   */
  readonly container: boolean;
  /**
   * The node runs on cgroup v1 (a container on a v1 or hybrid host, or an old
   * distribution): Kubernetes 1.35+ kubelet refuses it unless told otherwise.
   */
  readonly cgroupV1: boolean;
}

/** PLAIN_NODE is a VM or bare-metal machine on cgroup v2: nothing needs adjusting. */
export const PLAIN_NODE: NodeEnvironment = { container: false, cgroupV1: false };
