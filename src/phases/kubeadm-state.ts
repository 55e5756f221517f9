/**
 * Whether `kubeadm init` and `kubeadm join` really finished, asked of the cluster itself.
 * kubeadm writes admin.conf (and a joining node's kubelet.conf) early, before the control
 * plane is up and before the bootstrap objects, CoreDNS and kube-proxy exist; a run that
 * stopped after that (Ctrl-C, a timeout, a sleeping laptop) leaves the file behind and a
 * cluster that never works. So the file only says kubeadm started; the API says whether it
 * finished, and what did not finish is reset and run again.
 */
import { UserError } from "../errors.js";
import type { Remote } from "../remote/types.js";

export const ADMIN_CONF = "/etc/kubernetes/admin.conf";

/** What kubeadm leaves on a control plane from its first phases on, before admin.conf. */
export const INIT_LEFTOVERS = [
  "/etc/kubernetes/manifests/kube-apiserver.yaml",
  "/etc/kubernetes/manifests/etcd.yaml",
  "/etc/kubernetes/pki/ca.crt",
  "/var/lib/etcd/member",
] as const;

/** The objects the last phases of a finished `kubeadm init` make (namespace/kind/name). */
export const INIT_OBJECTS = [
  "kube-system/configmap/kubeadm-config",
  "kube-public/configmap/cluster-info",
  "kube-system/deployment/coredns",
  "kube-system/daemonset/kube-proxy",
] as const;

/** How long the probe waits for an API server that is starting (after a reboot, a restart). */
export const API_WAIT_SECONDS = 90;

/**
 * apiProbePrelude starts a probe script run with admin.conf: `k` is kubectl with a request
 * timeout, and the script waits up to $1 seconds for the API server's /readyz, else prints
 * `api-down` and ends.
 */
export const apiProbePrelude = (requestTimeoutSeconds: number): string =>
  `k() { kubectl --kubeconfig ${ADMIN_CONF} --request-timeout=${requestTimeoutSeconds}s "$@"; }
waited=0
until k get --raw=/readyz >/dev/null 2>&1; do
  [ "$waited" -ge "$1" ] && { echo api-down; exit 0; }
  sleep 2; waited=$((waited + 2))
done`;

/**
 * INIT_PROBE_SCRIPT runs on the first control plane with admin.conf: it waits up to $1
 * seconds for the API server, then prints `api-down`, or one `missing NS/KIND/NAME` line per
 * object of INIT_OBJECTS that is absent and one `node NAME` line per registered node.
 */
const INIT_PROBE_SCRIPT = `${apiProbePrelude(5)}
for o in ${INIT_OBJECTS.join(" ")}; do
  ns=\${o%%/*}; rest=\${o#*/}
  k -n "$ns" get "$rest" -o name >/dev/null 2>&1 || echo "missing $o"
done
k get nodes -o name | sed 's|^node/|node |'`;

/** The probe's argv, with its wait (exported for tests that script a node's answer). */
export const initProbe = (waitSeconds = API_WAIT_SECONDS): string[] => [
  "sh",
  "-c",
  INIT_PROBE_SCRIPT,
  "kubelab-init-probe",
  String(waitSeconds),
];

/**
 * What every finished `kubeadm init` (stacked etcd, as kubelab makes) leaves on the node, in
 * the order its phases write them: the static pods, then the kubelet's configuration (the
 * kubelet-start phase, just before kubeadm waits for the control plane).
 */
export const CONTROL_PLANE_MANIFESTS = [
  "/etc/kubernetes/manifests/etcd.yaml",
  "/etc/kubernetes/manifests/kube-apiserver.yaml",
  "/etc/kubernetes/manifests/kube-controller-manager.yaml",
  "/etc/kubernetes/manifests/kube-scheduler.yaml",
  "/var/lib/kubelet/config.yaml",
] as const;

/** MANIFESTS_PROBE prints each of CONTROL_PLANE_MANIFESTS that is missing. */
export const MANIFESTS_PROBE: readonly string[] = [
  "sh",
  "-c",
  'for f in "$@"; do [ -e "$f" ] || echo "$f"; done; true',
  "kubelab-manifests",
  ...CONTROL_PLANE_MANIFESTS,
];

/** LEFTOVERS_PROBE prints each of INIT_LEFTOVERS that exists. */
export const LEFTOVERS_PROBE: readonly string[] = [
  "sh",
  "-c",
  'for f in "$@"; do [ -e "$f" ] && echo "$f"; done; true',
  "kubelab-leftovers",
  ...INIT_LEFTOVERS,
];

/** What the first control plane's kubeadm init left, and what to do about it. */
export type InitState =
  /** Never started: run kubeadm init. */
  | { readonly kind: "fresh" }
  /** Finished: nothing to do. */
  | { readonly kind: "done" }
  /** Started and stopped: `kubeadm reset -f`, then kubeadm init again. */
  | { readonly kind: "unfinished"; readonly why: string };

/** What the init probe printed. */
export interface InitProbeResult {
  readonly apiDown: boolean;
  readonly missing: readonly string[];
  readonly nodes: readonly string[];
}

/** parseInitProbe reads INIT_PROBE_SCRIPT's lines. */
export function parseInitProbe(stdout: string): InitProbeResult {
  const lines = stdout.split("\n").map((l) => l.trim());
  return {
    apiDown: lines.includes("api-down"),
    missing: lines.filter((l) => l.startsWith("missing ")).map((l) => l.slice("missing ".length)),
    nodes: lines.filter((l) => l.startsWith("node ")).map((l) => l.slice("node ".length)),
  };
}

/**
 * initState asks the first control plane `node` what its kubeadm init left: nothing, a
 * finished cluster, or an unfinished one. Throws, touching nothing, when the cluster cannot
 * be judged (its API server does not answer) or when resetting it would lose nodes that have
 * joined it.
 */
export async function initState(remote: Remote, node: string, waitSeconds = API_WAIT_SECONDS): Promise<InitState> {
  if ((await remote.exec(["test", "-f", ADMIN_CONF])).code !== 0) {
    const left = (await remote.run(LEFTOVERS_PROBE)).split("\n").filter(Boolean);
    return left.length === 0
      ? { kind: "fresh" }
      : { kind: "unfinished", why: `an earlier kubeadm init stopped before writing admin.conf (${left.join(", ")})` };
  }
  const probe = parseInitProbe(await remote.run(initProbe(waitSeconds), { timeoutMs: (waitSeconds + 60) * 1000 }));
  if (probe.apiDown) {
    // Without its API the cluster cannot say; the node's files can: an init stopped before it
    // wrote them all never finished (and its API server may never start: no etcd, no kubelet).
    const absent = (await remote.run(MANIFESTS_PROBE)).split("\n").filter(Boolean);
    if (absent.length > 0)
      return { kind: "unfinished", why: `an earlier kubeadm init stopped before writing ${absent.join(", ")}` };
    throw new UserError(
      `${node}: the API server does not answer (waited ${waitSeconds} s), so kubelab cannot tell whether kubeadm init finished`,
      {
        hint: `look at the control plane: kubelab ssh ${node} -- journalctl -u kubelet -n 50 (kubelab doctor names common causes); if init never finished, kubelab ssh ${node} -- kubeadm reset -f, then kubelab up`,
        exitCode: 1,
      },
    );
  }
  const others = probe.nodes.filter((n) => n !== node);
  if (probe.missing.length === 0 && probe.nodes.includes(node)) return { kind: "done" };
  const missing = [...probe.missing, ...(probe.nodes.includes(node) ? [] : [`node ${node}`])];
  if (others.length > 0)
    throw new UserError(
      `${node}: kubeadm init did not finish (missing ${missing.join(", ")}), but ${others.join(", ")} joined the cluster: kubelab does not reset it`,
      {
        hint: `finish it by hand (kubelab ssh ${node} -- kubeadm init phase --help), or start over: kubelab down, then kubelab up`,
        exitCode: 1,
      },
    );
  return { kind: "unfinished", why: `kubeadm init did not finish: missing ${missing.join(", ")}` };
}
