/**
 * The embedded default cluster file: the classic lab (one control plane, two workers on
 * VirtualBox's host-only network). `kubelab init` writes it; `kubelab plan` uses it when
 * there is no file. Kept as commented YAML so the written file documents itself.
 */
import { PINNED } from "../versions.js";

export const DEFAULT_CLUSTER_YAML = `# kubelab cluster file. Reference: kubelab schema, or README.md.
apiVersion: kubelab.dev/v1alpha1
kind: Cluster
metadata:
  name: lab                     # context kubelab-lab, directory .kubelab/lab/

provider:
  name: vagrant                 # vagrant | nspawn | ssh
  hypervisor: virtualbox        # virtualbox | libvirt
  # box: pinned per hypervisor (bento/ubuntu-24.04 on VirtualBox, cloud-image/ubuntu-24.04 on libvirt)
  cpus: 2                       # defaults for nodes that set none
  memory: 4096                  # MiB, or "4Gi"

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
  cidr: 192.168.56.0/24         # VirtualBox host-only network; the host is 192.168.56.1
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
    pools:
      - 192.168.56.46-192.168.56.56
  ui: headlamp                  # headlamp | dashboard (archived upstream) | none
  linkerd:
    enabled: true
    version: ${PINNED.linkerd.version}
    viz: false
`;
