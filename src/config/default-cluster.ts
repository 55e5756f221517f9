/**
 * The embedded default cluster file: the classic lab (one control plane, two workers on
 * VirtualBox's host-only network). `kubelab init` writes it, or the same lab for another
 * provider; `kubelab plan` uses it when there is no file. Kept as commented YAML so the
 * written file documents itself.
 */
import { PINNED } from "../versions.js";

/** The providers `kubelab init --provider` writes a template for. */
export const TEMPLATE_PROVIDERS = ["vagrant", "nspawn", "ssh"] as const;
/** A provider {@link clusterTemplate} writes for. */
export type TemplateProvider = (typeof TEMPLATE_PROVIDERS)[number];

/** Each provider's block of the template, and what the network comment says of the host. */
const PROVIDER_BLOCKS: Record<TemplateProvider, { block: string; cidrNote: string }> = {
  vagrant: {
    block: `provider:
  name: vagrant                 # vagrant | nspawn | ssh
  hypervisor: virtualbox        # virtualbox | libvirt
  # box: pinned per hypervisor (bento/ubuntu-24.04 on VirtualBox, cloud-image/ubuntu-24.04 on libvirt)
  cpus: 2                       # defaults for nodes that set none
  memory: 4096                  # MiB, or "4Gi"`,
    cidrNote: "VirtualBox host-only network; the host is 192.168.56.1",
  },
  nspawn: {
    block: `provider:
  name: nspawn                  # vagrant | nspawn | ssh; each node is a systemd-nspawn container (run kubelab as root)
  release: bookworm             # the nodes' release: bookworm | trixie | jammy | noble`,
    cidrNote: "a bridge kubelab makes on this host; the host is 192.168.56.1",
  },
  ssh: {
    block: `provider:
  name: ssh                     # vagrant | nspawn | ssh; ssh prepares machines you already have
  hosts:                        # one per node; each host holds its node's address (below) on its lab NIC
    - node: master-1
      address: 192.168.56.11    # where kubelab connects: an address or a host name
      user: root                # root, or a user with passwordless sudo
      # key: ~/.ssh/id_ed25519  # without a key, the SSH agent is used
    - node: worker-1
      address: 192.168.56.12
      user: root
    - node: worker-2
      address: 192.168.56.13
      user: root`,
    cidrNote: "the network your hosts share",
  },
};

/**
 * clusterTemplate is the classic lab written for one provider: the same nodes, network and
 * addons on a different kind of machine.
 */
export function clusterTemplate(provider: TemplateProvider): string {
  const { block, cidrNote } = PROVIDER_BLOCKS[provider];
  return TEMPLATE.replace("{{provider}}", block).replace("{{cidrNote}}", cidrNote);
}

const TEMPLATE = `# kubelab cluster file. Reference: kubelab schema, or README.md.
apiVersion: kubelab.dev/v1alpha1
kind: Cluster
metadata:
  name: lab                     # context kubelab-lab, directory .kubelab/lab/

{{provider}}

nodes:
  - name: master-{n}
    role: control-plane
    count: 1
    cpus: 2
    memory: 4096
  - name: worker-{n}
    role: worker
    count: 2
    cpus: 4
    memory: 8192

network:
  cidr: 192.168.56.0/24         # {{cidrNote}}
  firstAddress: 192.168.56.11   # control planes from here, workers right after
  # each node's lab NIC is the one holding its address, never the NAT NIC (10.0.2.15)
  # dhcpRange: 192.168.56.100-192.168.56.254  # VirtualBox's host-only DHCP (the default here)

kubernetes:
  version: ${PINNED.kubernetes.version}
  podSubnet: 192.168.112.0/20
  serviceSubnet: 10.96.0.0/12
  proxyMode: iptables           # iptables | nftables | ipvs (deprecated; needs strictARP with MetalLB)

containerd:
  cgroupDriver: systemd         # sets runc SystemdCgroup and kubelet cgroupDriver together
  version: "2.x"                # "2.x" or "1.7"
addons:
  cni:
    plugin: calico
    version: ${PINNED.calico.version}
    autodetection: node-ip      # node-ip | cidr | interface=NAME
    encapsulation: ipip         # ipip | vxlan | vxlan-cross-subnet | none (BGP routes, one L2 network)
  metallb:
    enabled: true
    version: ${PINNED.metallb.version}
    # pools: [192.168.56.46-192.168.56.56]  # the default: the 46th to 56th addresses of network.cidr
  ui: headlamp                  # headlamp | dashboard (archived upstream) | none
  linkerd:
    enabled: true
    version: ${PINNED.linkerd.version}
    viz: false
`;

/** The classic lab the CLI uses when there is no cluster file. */
export const DEFAULT_CLUSTER_YAML: string = clusterTemplate("vagrant");
