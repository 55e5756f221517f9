/**
 * The cluster file schema (`apiVersion: kubelab.dev/v1alpha1`, `kind: Cluster`).
 *
 * One zod schema serves YAML files, `kubelab.config.ts` files and the JSON Schema that
 * editors use. Objects are strict: an unknown key is an error, never silently ignored.
 * Defaults that depend on other fields (addresses, DHCP range, strictARP) are resolved in
 * the plan, not here, so the schema only fills in values that stand on their own.
 */
import { z } from "zod";
import { parseCidr, parseIpv4, parseRange } from "../net/ipv4.js";
import { PINNED } from "../versions.js";
import { boxName, hostAddress, hostPort, sshUser, versionConstraint } from "./formats.js";

/** A DNS-1123 label: what Kubernetes accepts as a node name and what hostnames need. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const ipv4 = z
  .string()
  .refine((s) => parseIpv4(s) !== undefined, { error: "must be an IPv4 address such as 192.168.56.11" });
const cidr = z.string().refine((s) => parseCidr(s) !== undefined, {
  error: "must be an IPv4 CIDR with zero host bits, such as 192.168.56.0/24",
});
const range = z.string().refine((s) => parseRange(s) !== undefined, {
  error: "must be a range FIRST-LAST, one address, or a CIDR, such as 192.168.56.46-192.168.56.56",
});
const semver = (example: string) =>
  z.string().regex(/^v\d+\.\d+\.\d+$/, { error: `must be a version such as ${example}` });
const memory = z.union([
  z.number().int().positive(),
  z.string().regex(/^\d+(Mi|Gi)$/, { error: 'must be MiB as a number, or a string such as "4Gi" or "512Mi"' }),
]);
const cpus = z.number().int().min(1).max(256);
const port = z.number().int().min(1).max(65535);

const sshTarget = {
  /** Address or host name the SSH connection goes to (a host name, IPv4 or IPv6 address). */
  address: hostAddress,
  /** The login user (a POSIX user name). @default "root" */
  user: sshUser.optional(),
  /** @default 22 */
  port: port.optional(),
  /** Private key file; when absent, the SSH agent is used. */
  key: z.string().min(1).optional(),
};

const vagrantProvider = z.strictObject({
  name: z.literal("vagrant"),
  /** @default "virtualbox" */
  hypervisor: z.enum(["virtualbox", "libvirt"]).default("virtualbox"),
  /**
   * The base box. When unset, the box pinned for the hypervisor (an Ubuntu LTS box) at its
   * pinned version; a box named here is used at `boxVersion`, or the newest one installed.
   */
  box: boxName.optional(),
  /** The box's version (a Vagrant version constraint such as "202510.26.0"). */
  boxVersion: versionConstraint.optional(),
  /**
   * libvirt's domain type: `kvm` needs hardware virtualisation (/dev/kvm), `qemu` is software
   * emulation (slow; for hosts without VT-x/AMD-V). @default "kvm"
   */
  libvirtDriver: z.enum(["kvm", "qemu"]).default("kvm"),
  /** CPUs for nodes that do not set their own. @default 2 */
  cpus: cpus.default(2),
  /** Memory for nodes that do not set their own. @default 4096 */
  memory: memory.default(4096),
});

const nspawnProvider = z.strictObject({
  name: z.literal("nspawn"),
  /** Release of the node image: Debian bookworm/trixie or Ubuntu jammy/noble. @default "bookworm" */
  release: z.enum(["bookworm", "trixie", "jammy", "noble"]).default("bookworm"),
});

const sshProvider = z.strictObject({
  name: z.literal("ssh"),
  /** One entry per node: where kubelab connects to reach it. */
  hosts: z
    .array(
      z.strictObject({
        /** The node this host is, by name. */
        node: z.string().min(1),
        ...sshTarget,
        /** A bastion to connect through. */
        jump: z.strictObject(sshTarget).optional(),
      }),
    )
    .min(1),
});

/** Machine providers; `name` selects one. */
export const providerSchema = z.discriminatedUnion("name", [vagrantProvider, nspawnProvider, sshProvider]);

/**
 * A node, or a group of nodes when `count` is set: `name` then holds `{n}`, numbered from 1.
 */
export const nodeSchema = z.strictObject({
  /** Node name (DNS-1123 label); with `count`, a pattern such as `worker-{n}`. */
  name: z.string().refine((s) => DNS1123_LABEL.test(s.replaceAll("{n}", "1")), {
    error: "must be a DNS-1123 label (lowercase letters, digits and '-'), or a pattern with {n}, such as worker-{n}",
  }),
  role: z.enum(["control-plane", "worker"]),
  /** @default 1 */
  count: z.number().int().min(1).max(250).default(1),
  cpus: cpus.optional(),
  memory: memory.optional(),
  /** Fixed lab address (the first one, for a group); otherwise allocated from `network.firstAddress`. */
  ip: ipv4.optional(),
});

const networkSchema = z.strictObject({
  /** The lab network every node has an address on. @default "192.168.56.0/24" */
  cidr: cidr.default("192.168.56.0/24"),
  /** The host's address on the lab network. @default the first address of `cidr` */
  gateway: ipv4.optional(),
  /** Control planes get addresses from here, workers right after. @default the 11th address of `cidr` */
  firstAddress: ipv4.optional(),
  /**
   * Deprecated and ignored: kubelab finds each node's lab interface by the node's address.
   * Still accepted so that files written by older versions load (with a warning).
   */
  interface: z
    .string()
    .regex(/^(auto|[A-Za-z0-9_.:-]{1,15})$/, { error: 'must be "auto" or an interface name such as eth1' })
    .optional()
    .meta({ deprecated: true }),
  /**
   * Addresses handed out by a DHCP server on the lab network, which nothing may overlap.
   * @default VirtualBox's host-only DHCP range (.100-.254) with vagrant + virtualbox, none otherwise
   */
  dhcpRange: range.nullable().optional(),
});

const kubernetesSchema = z.strictObject({
  /** @default the newest pinned version */
  version: semver("v1.37.2").default(PINNED.kubernetes.version),
  /** @default "192.168.112.0/20" */
  podSubnet: cidr.default("192.168.112.0/20"),
  /** @default "10.96.0.0/12" */
  serviceSubnet: cidr.default("10.96.0.0/12"),
  /** kube-proxy mode. @default "iptables" */
  proxyMode: z.enum(["iptables", "ipvs", "nftables"]).default("iptables"),
  /** kube-proxy IPVS strictARP; MetalLB L2 needs it with IPVS. @default true with ipvs */
  strictARP: z.boolean().optional(),
  /**
   * A stable address (host[:port]) in front of the control planes that you run yourself (a
   * load balancer, a DNS name). For a virtual IP kubelab runs, set `controlPlane.endpoint`.
   */
  controlPlaneEndpoint: hostPort.optional(),
});

const controlPlaneSchema = z.strictObject({
  /**
   * The API endpoint of a highly available control plane: a virtual IP on the lab network,
   * held by one control plane at a time, in front of every control plane's API server.
   */
  endpoint: z
    .strictObject({
      /** A free address on the lab network: no node's, outside the DHCP range and the MetalLB pools. */
      vip: ipv4,
      /** The port clients reach the API servers on through the VIP; 6443 is the API servers' own. @default 8443 */
      port: port.default(8443),
      /**
       * What holds the VIP and balances: keepalived and HAProxy from the distribution's
       * packages on every control plane, or kube-vip (not available in this release).
       * @default "keepalived-haproxy"
       */
      loadBalancer: z.enum(["keepalived-haproxy", "kube-vip"]).default("keepalived-haproxy"),
    })
    .optional(),
});

const containerdSchema = z.strictObject({
  /** Drives both containerd's runc `SystemdCgroup` and kubelet's `cgroupDriver`. @default "systemd" */
  cgroupDriver: z.enum(["systemd", "cgroupfs"]).default("systemd"),
  /** containerd release line: "2.x" (config version 3) or "1.7" (config version 2). @default "2.x" */
  version: z.enum(["2.x", "1.7"]).default("2.x"),
});

const cniSchema = z.strictObject({
  /** @default "calico" */
  plugin: z.enum(["calico", "none"]).default("calico"),
  /** @default the pinned Calico version */
  version: semver(PINNED.calico.version).default(PINNED.calico.version),
  /**
   * How calico-node picks each node's address: the node's lab IP, any address in the lab
   * CIDR, or a named interface.
   * @default "node-ip"
   */
  autodetection: z
    .string()
    .regex(/^(node-ip|cidr|interface=[A-Za-z0-9_.:*|-]+)$/, {
      error: 'must be "node-ip", "cidr" or "interface=NAME"',
    })
    .default("node-ip"),
  /**
   * How pod traffic crosses between nodes: `ipip` (IP-in-IP tunnels, what Calico's manifest
   * ships), `vxlan` (VXLAN tunnels, no BGP; for kernels without IPIP), `vxlan-cross-subnet`
   * (VXLAN only between nodes on different subnets), or `none` (plain routes learnt over BGP;
   * every node on one L2 network). Each node's kernel must support the tunnel it needs.
   * @default "ipip"
   */
  encapsulation: z.enum(["ipip", "vxlan", "vxlan-cross-subnet", "none"]).default("ipip"),
});

const metallbSchema = z.strictObject({
  /** @default true */
  enabled: z.boolean().default(true),
  /** @default the pinned MetalLB version */
  version: semver(PINNED.metallb.version).default(PINNED.metallb.version),
  /**
   * Address ranges or CIDRs for LoadBalancer Services, inside the lab network.
   * @default the 46th to 56th addresses of `network.cidr` (192.168.56.46-192.168.56.56 for the default network)
   */
  pools: z.array(range).min(1).optional(),
});

const linkerdSchema = z.strictObject({
  /** @default true */
  enabled: z.boolean().default(true),
  /** @default the pinned Linkerd edge release */
  version: z
    .string()
    .regex(/^edge-\d{2}\.\d{1,2}\.\d+$/, { error: `must be an edge release such as ${PINNED.linkerd.version}` })
    .default(PINNED.linkerd.version),
  /** Also install linkerd-viz. @default false */
  viz: z.boolean().default(false),
});

const addonsSchema = z.strictObject({
  cni: cniSchema.default(() => cniSchema.parse({})),
  metallb: metallbSchema.default(() => metallbSchema.parse({})),
  /** Web UI behind a LoadBalancer: Headlamp, or the archived Kubernetes Dashboard. @default "headlamp" */
  ui: z.enum(["headlamp", "dashboard", "none"]).default("headlamp"),
  linkerd: linkerdSchema.default(() => linkerdSchema.parse({})),
});

/** The whole cluster file. */
export const clusterSchema = z.strictObject({
  apiVersion: z.literal("kubelab.dev/v1alpha1"),
  kind: z.literal("Cluster"),
  metadata: z.strictObject({
    /** Cluster name: names the bridge, the kubeconfig context `kubelab-<name>` and the cluster directory. */
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/, {
      error: "must be lowercase letters, digits and '-', at most 40 characters, such as lab",
    }),
  }),
  provider: providerSchema.default(() => vagrantProvider.parse({ name: "vagrant" })),
  nodes: z.array(nodeSchema).min(1),
  network: networkSchema.default(() => networkSchema.parse({})),
  kubernetes: kubernetesSchema.default(() => kubernetesSchema.parse({})),
  /** The endpoint in front of the control planes. */
  controlPlane: controlPlaneSchema.optional(),
  containerd: containerdSchema.default(() => containerdSchema.parse({})),
  addons: addonsSchema.default(() => addonsSchema.parse({})),
});

/** What a user writes: every defaulted field optional (the type `defineCluster()` takes). */
export type ClusterInput = z.input<typeof clusterSchema>;
/** A parsed cluster file with schema defaults filled in. */
export type ClusterFile = z.output<typeof clusterSchema>;
