/**
 * kubeadm configuration files: `kubeadm init --config` for the first control plane and
 * `kubeadm join --config` for every other node (kubeadm.k8s.io/v1beta4).
 *
 * Serialised as YAML 1.1 on purpose: kubeadm reads YAML through sigs.k8s.io/yaml (go-yaml,
 * YAML 1.1 rules), where an unquoted `on`, `yes` or `no` is a boolean. The `yaml` package's
 * default 1.2 output leaves those unquoted, so a node or cluster named `no` would become
 * `false`; its 1.1 mode quotes them (and `1:20`, `010`, `1_000`).
 */
import { stringify } from "yaml";
import { firstControlPlane } from "../plan/control-plane.js";
import type { Plan, PlanNode } from "../plan/types.js";
import { CONTAINERD_SOCKET, kubeletCgroupDriver } from "./containerd.js";
import { type NodeEnvironment, PLAIN_NODE } from "./node-environment.js";
import type { RenderedFile } from "./types.js";

const KUBEADM_API = "kubeadm.k8s.io/v1beta4";
const API_SERVER_PORT = 6443;
export const KUBEADM_INIT_PATH = "/etc/kubernetes/kubeadm/kubeadm-init.yaml";
export const KUBEADM_JOIN_PATH = "/etc/kubernetes/kubeadm/kubeadm-join.yaml";

/** Run-time secrets of a join; they exist only in memory and on kubeadm's stdin. */
export interface JoinSecrets {
  /** Bootstrap token, `[a-z0-9]{6}.[a-z0-9]{16}`. */
  readonly token: string;
  /** `sha256:<hex>` of the cluster CA's public key. */
  readonly caCertHash: string;
  /** Decrypts the certificates `kubeadm init --upload-certs` stored; control planes only. */
  readonly certificateKey?: string;
}

/** kubeadm's list form of extra args (v1beta4 replaced the v1beta3 map). */
const args = (pairs: Record<string, string>) => Object.entries(pairs).map(([name, value]) => ({ name, value }));

/**
 * The node-ip is always the lab address. Without it kubelet picks the default-route
 * address, which on Vagrant is the NAT NIC's 10.0.2.15 on every node (k0sctl#172, k3sup#306).
 */
function nodeRegistration(plan: Plan, node: PlanNode): Record<string, unknown> {
  return {
    name: node.name,
    criSocket: CONTAINERD_SOCKET,
    kubeletExtraArgs: args({ "node-ip": node.ip }),
    // An empty list, not an absent one: kubeadm puts the control-plane NoSchedule taint on a nil list.
    ...(node.role === "control-plane" && plan.kubernetes.controlPlaneRunsPods ? { taints: [] } : {}),
  };
}

function node(plan: Plan, name: string): PlanNode {
  const found = plan.nodes.find((n) => n.name === name);
  if (!found) throw new Error(`kubeadm: node ${name} is not in cluster ${plan.name}`);
  return found;
}

/**
 * The control-plane endpoint as `host:port`. The cluster file allows `host` alone, but join
 * discovery needs the port (kubeadm validates apiServerEndpoint with net.SplitHostPort).
 */
function endpoint(plan: Plan): { host: string; hostPort: string } {
  const given = plan.kubernetes.controlPlaneEndpoint;
  const m = /^(.*):(\d+)$/.exec(given);
  return m?.[1] ? { host: m[1], hostPort: given } : { host: given, hostPort: `${given}:${API_SERVER_PORT}` };
}

const toYaml = (docs: readonly Record<string, unknown>[]) =>
  docs.map((d) => stringify(d, { version: "1.1" })).join("---\n");

/**
 * renderKubeadmInit renders the `kubeadm init` configuration for the first control plane:
 * InitConfiguration, ClusterConfiguration, KubeletConfiguration, KubeProxyConfiguration.
 * It holds no secrets: kubeadm creates the bootstrap token, and the init phase may add
 * `--upload-certs` (one of the few flags kubeadm allows together with `--config`).
 *
 * The node it runs on changes two settings: on cgroup v1 kubelet gets `failCgroupV1: false`
 * (Kubernetes 1.35+ refuses to start there otherwise); in a container, which has no
 * /sys/module, kube-proxy must not size the conntrack table (`conntrack.maxPerCore: 0`, as
 * kind does), or it reads /sys/module/nf_conntrack/parameters/hashsize at start, fails and
 * exits (checked at v1.37.2).
 */
export function renderKubeadmInit(plan: Plan, env: NodeEnvironment = PLAIN_NODE): RenderedFile {
  const cp = firstControlPlane(plan);
  const k8s = plan.kubernetes;
  const controlPlanes = plan.nodes.filter((n) => n.role === "control-plane");
  // Every name and address a client may use for the API server, so adding a control plane
  // or connecting through the endpoint never meets "certificate is valid for ..., not ...".
  const certSANs = [
    ...new Set([...controlPlanes.flatMap((n) => [n.ip, n.name]), endpoint(plan).host, "127.0.0.1", "localhost"]),
  ];
  const kubelet: Record<string, unknown> = {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    // From the same setting as runc's SystemdCgroup: a mismatch crash-loops the control plane.
    cgroupDriver: kubeletCgroupDriver(plan),
    containerRuntimeEndpoint: CONTAINERD_SOCKET,
    ...(env.cgroupV1 ? { failCgroupV1: false } : {}),
  };
  const proxy: Record<string, unknown> = {
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    mode: k8s.proxyMode,
    // MetalLB L2 on ipvs needs strictARP, or every node answers ARP for the LB IPs (metallb#153).
    ipvs: { strictARP: k8s.strictARP },
    ...(env.container ? { conntrack: { maxPerCore: 0 } } : {}),
  };
  const docs = [
    {
      apiVersion: KUBEADM_API,
      kind: "InitConfiguration",
      localAPIEndpoint: { advertiseAddress: cp.ip, bindPort: API_SERVER_PORT },
      nodeRegistration: nodeRegistration(plan, cp),
    },
    {
      apiVersion: KUBEADM_API,
      kind: "ClusterConfiguration",
      clusterName: plan.name,
      kubernetesVersion: k8s.version,
      controlPlaneEndpoint: endpoint(plan).hostPort,
      networking: { podSubnet: k8s.podSubnet, serviceSubnet: k8s.serviceSubnet, dnsDomain: k8s.dnsDomain },
      apiServer: { certSANs },
    },
    kubelet,
    proxy,
  ];
  const header = `# Rendered by kubelab for cluster "${plan.name}": kubeadm init --config on ${cp.name}.\n`;
  return { path: KUBEADM_INIT_PATH, content: header + toYaml(docs) };
}

/**
 * joinConfiguration is the JoinConfiguration for a node other than the first control plane.
 * Kubelet and kube-proxy settings are not here: joining nodes download the cluster's copies
 * that `kubeadm init` uploaded.
 *
 * Without `secrets` the discovery token fields are left out (what {@link renderKubeadmJoin}
 * writes). With them the object is complete; keep it in memory only. The secrets cannot be
 * passed as flags instead: kubeadm refuses `--token`, `--discovery-token-ca-cert-hash` and
 * `--certificate-key` next to `--config` ("can not mix '--config' with arguments").
 */
export function joinConfiguration(plan: Plan, nodeName: string, secrets?: JoinSecrets): Record<string, unknown> {
  const n = node(plan, nodeName);
  if (n === firstControlPlane(plan)) throw new Error(`kubeadm: ${nodeName} runs kubeadm init, it does not join`);
  const controlPlane = n.role === "control-plane";
  if (secrets) checkSecrets(nodeName, controlPlane, secrets);
  const apiServerEndpoint = endpoint(plan).hostPort;
  const bootstrapToken = secrets
    ? { apiServerEndpoint, token: secrets.token, caCertHashes: [secrets.caCertHash] }
    : { apiServerEndpoint };
  return {
    apiVersion: KUBEADM_API,
    kind: "JoinConfiguration",
    nodeRegistration: nodeRegistration(plan, n),
    discovery: { bootstrapToken },
    ...(controlPlane
      ? {
          controlPlane: {
            localAPIEndpoint: { advertiseAddress: n.ip, bindPort: API_SERVER_PORT },
            ...(secrets?.certificateKey ? { certificateKey: secrets.certificateKey } : {}),
          },
        }
      : {}),
  };
}

/** Fails early, without echoing the values, instead of letting kubeadm fail later. */
function checkSecrets(nodeName: string, controlPlane: boolean, s: JoinSecrets): void {
  if (!/^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(s.token))
    throw new Error(`kubeadm join ${nodeName}: malformed bootstrap token`);
  if (!/^sha256:[0-9a-f]{64}$/.test(s.caCertHash))
    throw new Error(`kubeadm join ${nodeName}: CA cert hash must be sha256:<64 hex>`);
  // Without it a joining control plane has no CA keys and kubeadm's preflight stops.
  if (controlPlane && !s.certificateKey)
    throw new Error(`kubeadm join ${nodeName}: a control plane needs the certificate key`);
}

/**
 * renderKubeadmJoin renders the secret-free join configuration kubelab shows and keeps on
 * the node (`kubelab plan`, reviews, golden files). kubeadm cannot use it as it is: the join
 * phase streams the complete document ({@link kubeadmJoinDocument}) over the SSH session's
 * stdin, so the bootstrap token and certificate key are never written to disk or shown in a
 * process list. Checked with kubeadm v1.37.2: it reads `--config` exactly once (os.ReadFile),
 * so `/dev/stdin` works, but only when stdin is a pipe; opening /dev/stdin on a socket fails
 * with ENXIO ("no such device or address"). Node's child_process stdin is a socket, and an
 * sshd may hand the command a socketpair too; `cat | kubeadm join --config /dev/stdin`
 * makes it a pipe either way.
 */
export function renderKubeadmJoin(plan: Plan, nodeName: string): RenderedFile {
  const secretFields =
    node(plan, nodeName).role === "control-plane"
      ? "token, caCertHashes and certificateKey are"
      : "token and caCertHashes are";
  const header =
    `# Rendered by kubelab for cluster "${plan.name}": kubeadm join on ${nodeName}.\n` +
    `# ${secretFields} left out on purpose: kubelab streams the complete\n` +
    "# file to `cat | kubeadm join --config /dev/stdin` over SSH, so secrets never touch the disk.\n";
  return { path: KUBEADM_JOIN_PATH, content: header + toYaml([joinConfiguration(plan, nodeName)]) };
}

/** kubeadmJoinDocument is the complete join YAML, secrets included, for kubeadm's stdin only. */
export function kubeadmJoinDocument(plan: Plan, nodeName: string, secrets: JoinSecrets): string {
  return toYaml([joinConfiguration(plan, nodeName, secrets)]);
}
