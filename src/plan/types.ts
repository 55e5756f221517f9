/**
 * The plan: everything kubelab derives from a cluster file, resolved and immutable.
 * Renderers, providers and phases read only this, never the raw file.
 */
import type { Cidr } from "../net/ipv4.js";

/** A node as it will exist. */
export interface PlanNode {
  readonly name: string;
  readonly role: "control-plane" | "worker";
  readonly cpus: number;
  readonly memoryMiB: number;
  /** The node's address on the lab network: kubelet node-ip, advertise address, Calico's address. */
  readonly ip: string;
  /** Index into the file's `nodes` list this node came from (for error positions). */
  readonly source: number;
}

/** How kubelab reaches an existing host (ssh provider). */
export interface PlanSshHost {
  readonly node: string;
  readonly address: string;
  readonly user: string;
  readonly port: number;
  readonly key?: string;
  readonly jump?: { readonly address: string; readonly user: string; readonly port: number; readonly key?: string };
}

export type PlanProvider =
  | {
      readonly name: "vagrant";
      readonly hypervisor: "virtualbox" | "libvirt";
      readonly box: string;
      /** The box version constraint; undefined: any installed version (the newest). */
      readonly boxVersion?: string;
      /** VirtualBox: the box's disk controller, when known (the pinned box's): its host I/O cache goes off. */
      readonly diskController?: string;
      /** libvirt's domain type (kvm, or qemu: software emulation). */
      readonly libvirtDriver: "kvm" | "qemu";
    }
  | { readonly name: "nspawn"; readonly release: "bookworm" | "trixie" | "jammy" | "noble" }
  | { readonly name: "ssh"; readonly hosts: readonly PlanSshHost[] };

export interface PlanNetwork {
  /** The lab network as written, e.g. `192.168.56.0/24`. */
  readonly cidr: string;
  /**
   * The same network parsed once, for arithmetic: whether an address is on the lab network
   * is `containsAddress(plan.network.block, ip)` (net/ipv4.ts), never a parse of `cidr`.
   */
  readonly block: Cidr;
  readonly prefix: number;
  readonly networkAddress: string;
  readonly broadcast: string;
  /** The host's own address on the lab network. */
  readonly gateway: string;
  readonly firstAddress: string;
  /** DHCP range nothing may overlap, as `first-last`, when there is one. */
  readonly dhcpRange?: string;
}

export interface PlanKubernetes {
  /** e.g. v1.37.2 */
  readonly version: string;
  /** e.g. 1.37 */
  readonly minor: string;
  readonly podSubnet: string;
  readonly serviceSubnet: string;
  readonly dnsDomain: string;
  readonly proxyMode: "iptables" | "ipvs" | "nftables";
  readonly strictARP: boolean;
  /** host:port every node and kubeconfig uses for the API server (the VIP's, when there is one). */
  readonly controlPlaneEndpoint: string;
  /** Whether the endpoint was given (a stable address that allows more control planes). */
  readonly endpointGiven: boolean;
  /**
   * Whether control planes run workloads: true when the plan has no workers, so kubeadm
   * registers them without the NoSchedule taint (as kind does for its single node).
   */
  readonly controlPlaneRunsPods: boolean;
  readonly images: { readonly pause: string; readonly etcd: string; readonly coredns: string };
  /** pkgs.k8s.io Debian package version, e.g. 1.37.2-1.1 */
  readonly packageVersion: string;
}

export interface PlanContainerd {
  readonly line: "2.x" | "1.7";
  readonly version: string;
  /** containerd config schema: 3 for 2.x, 2 for 1.7. */
  readonly configVersion: 2 | 3;
  /** The one setting behind runc's SystemdCgroup and kubelet's cgroupDriver. */
  readonly cgroupDriver: "systemd" | "cgroupfs";
}

/**
 * CalicoEncapsulation is how Calico carries pod traffic between nodes: IP-in-IP or VXLAN
 * tunnels (`vxlan-cross-subnet` only across subnets), or `none`, plain routes learnt over BGP.
 */
export type CalicoEncapsulation = "ipip" | "vxlan" | "vxlan-cross-subnet" | "none";

export interface PlanAddons {
  readonly cni:
    | { readonly plugin: "none" }
    | {
        readonly plugin: "calico";
        readonly version: string;
        /** The value of calico-node's IP_AUTODETECTION_METHOD. */
        readonly ipAutodetectionMethod: string;
        /** How pod traffic crosses between nodes (addons.cni.encapsulation). */
        readonly encapsulation: CalicoEncapsulation;
      };
  readonly metallb:
    | { readonly enabled: false }
    | { readonly enabled: true; readonly version: string; readonly pools: readonly string[] };
  readonly ui:
    | { readonly kind: "none" }
    | { readonly kind: "headlamp" | "dashboard"; readonly version: string; readonly archived: boolean };
  readonly linkerd:
    | { readonly enabled: false }
    | { readonly enabled: true; readonly version: string; readonly viz: boolean };
}

/**
 * The virtual IP of a highly available control plane (`controlPlane.endpoint`): keepalived
 * moves it between the control planes, HAProxy on each forwards `port` to every API server.
 */
export interface PlanVip {
  /** The virtual IP, on the lab network. */
  readonly address: string;
  /** The port HAProxy listens on (the API servers keep 6443). */
  readonly port: number;
  readonly loadBalancer: "keepalived-haproxy" | "kube-vip";
  /** VRRP's virtual_router_id (1-255), from the cluster name, so two labs on one network differ. */
  readonly routerId: number;
}

/** The whole derived plan. */
export interface Plan {
  readonly name: string;
  /** The kubeconfig context kubelab writes. */
  readonly context: string;
  readonly provider: PlanProvider;
  readonly network: PlanNetwork;
  readonly nodes: readonly PlanNode[];
  readonly kubernetes: PlanKubernetes;
  /** The control planes' virtual IP, when the file sets `controlPlane.endpoint`. */
  readonly vip?: PlanVip;
  readonly containerd: PlanContainerd;
  readonly addons: PlanAddons;
}
