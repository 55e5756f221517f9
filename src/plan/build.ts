/**
 * buildPlan derives the immutable plan from a schema-valid cluster file: node names and
 * addresses, network facts, versions and images, addon settings. It never fails: problems
 * (a clash, a missing control plane) are for the rules in `rules.ts` to report.
 */
import type { ClusterFile } from "../config/schema.js";
import { type Cidr, formatIpv4, formatRange, parseCidr, parseIpv4 } from "../net/ipv4.js";
import { KUBERNETES_MINORS, PINNED } from "../versions.js";
import type { Plan, PlanAddons, PlanNode, PlanProvider } from "./types.js";

/** Default sizes for nodes that set none, when the provider has no defaults of its own. */
const DEFAULT_CPUS = 2;
const DEFAULT_MEMORY_MIB = 4096;
/** Control planes are numbered from the 11th address of the lab network, as in the classic lab. */
const FIRST_NODE_OFFSET = 11;

/** memoryMiB converts the file's memory (MiB number, or "4Gi"/"512Mi") to MiB. */
export function memoryMiB(value: number | string): number {
  if (typeof value === "number") return value;
  const n = Number.parseInt(value, 10);
  return value.endsWith("Gi") ? n * 1024 : n;
}

/** expandNodes turns node entries (groups with `count` and `{n}`) into named nodes, in file order. */
export function expandNodes(
  file: ClusterFile,
): { name: string; entry: ClusterFile["nodes"][number]; source: number; k: number }[] {
  return file.nodes.flatMap((entry, source) =>
    Array.from({ length: entry.count }, (_, i) => ({
      name: entry.name.replaceAll("{n}", String(i + 1)),
      entry,
      source,
      k: i,
    })),
  );
}

function allocate(file: ClusterFile, first: number): PlanNode[] {
  const expanded = expandNodes(file);
  const fixed = new Set<number>();
  for (const n of expanded) {
    const base = n.entry.ip === undefined ? undefined : parseIpv4(n.entry.ip);
    if (base !== undefined) fixed.add(base + n.k);
  }
  const addresses = new Map<(typeof expanded)[number], number>();
  let next = first;
  // Control planes first, then workers, each in file order: "masters .11+, workers after".
  for (const role of ["control-plane", "worker"] as const) {
    for (const n of expanded.filter((x) => x.entry.role === role)) {
      const base = n.entry.ip === undefined ? undefined : parseIpv4(n.entry.ip);
      if (base !== undefined) {
        addresses.set(n, base + n.k);
        continue;
      }
      while (fixed.has(next)) next++;
      addresses.set(n, next++);
    }
  }
  const providerDefaults = file.provider.name === "vagrant" ? file.provider : undefined;
  return expanded.map((n) => ({
    name: n.name,
    role: n.entry.role,
    cpus: n.entry.cpus ?? providerDefaults?.cpus ?? DEFAULT_CPUS,
    memoryMiB: memoryMiB(n.entry.memory ?? providerDefaults?.memory ?? DEFAULT_MEMORY_MIB),
    ip: formatIpv4(addresses.get(n) ?? 0),
    source: n.source,
  }));
}

function provider(file: ClusterFile): PlanProvider {
  const p = file.provider;
  switch (p.name) {
    case "vagrant":
      return {
        name: "vagrant",
        hypervisor: p.hypervisor,
        ...vagrantBox(p),
        libvirtDriver: p.libvirtDriver,
      };
    case "nspawn":
      return { name: "nspawn", release: p.release };
    case "ssh":
      return {
        name: "ssh",
        hosts: p.hosts.map((h) => ({
          node: h.node,
          address: h.address,
          user: h.user ?? "root",
          port: h.port ?? 22,
          key: h.key,
          jump: h.jump && {
            address: h.jump.address,
            user: h.jump.user ?? "root",
            port: h.jump.port ?? 22,
            key: h.jump.key,
          },
        })),
      };
  }
}

/**
 * defaultDhcpRange is VirtualBox's host-only DHCP server range (server .100, leases
 * .101-.254) for a /24 lab network on VirtualBox; other providers have no DHCP by default.
 */
function defaultDhcpRange(file: ClusterFile, base: number, prefix: number): string | undefined {
  if (file.provider.name !== "vagrant" || file.provider.hypervisor !== "virtualbox" || prefix !== 24) return undefined;
  return formatRange({ first: base + 100, last: base + 254 });
}

/** The MetalLB pool's place in the lab network when the file sets none: clear of the nodes (from the 11th address). */
const DEFAULT_POOL_OFFSETS = { first: 46, last: 56 } as const;

/**
 * defaultPool follows the lab network: the 46th to 56th addresses of whatever `network.cidr`
 * the file sets, so changing the network alone never leaves the pool behind on the old one.
 */
function defaultPool(lab: Cidr): string {
  return formatRange({ first: lab.first + DEFAULT_POOL_OFFSETS.first, last: lab.first + DEFAULT_POOL_OFFSETS.last });
}

function addons(file: ClusterFile, lab: Cidr): PlanAddons {
  const nodeCidr = lab.text;
  const { cni, metallb, ui, linkerd } = file.addons;
  const method =
    cni.autodetection === "node-ip"
      ? // NODEIP is injected from status.hostIP, which is kubelet's node-ip: the lab address.
        "can-reach=$(NODEIP)"
      : cni.autodetection === "cidr"
        ? `cidrs=${nodeCidr}`
        : cni.autodetection;
  return {
    cni:
      cni.plugin === "none"
        ? { plugin: "none" }
        : { plugin: "calico", version: cni.version, ipAutodetectionMethod: method, encapsulation: cni.encapsulation },
    metallb: metallb.enabled
      ? { enabled: true, version: metallb.version, pools: metallb.pools ?? [defaultPool(lab)] }
      : { enabled: false },
    ui:
      ui === "none"
        ? { kind: "none" }
        : ui === "headlamp"
          ? { kind: "headlamp", version: PINNED.headlamp.version, archived: false }
          : { kind: "dashboard", version: PINNED.dashboard.version, archived: PINNED.dashboard.archived },
    linkerd: linkerd.enabled ? { enabled: true, version: linkerd.version, viz: linkerd.viz } : { enabled: false },
  };
}

/** buildPlan resolves a schema-valid cluster file into a Plan. */
export function buildPlan(file: ClusterFile): Plan {
  const cidr = parseCidr(file.network.cidr);
  if (!cidr) throw new Error(`buildPlan: schema let through an invalid CIDR ${file.network.cidr}`);
  const gateway = file.network.gateway ?? formatIpv4(cidr.first + 1);
  const first = file.network.firstAddress
    ? (parseIpv4(file.network.firstAddress) ?? 0)
    : cidr.first + FIRST_NODE_OFFSET;
  const nodes = allocate(file, first);
  const k8s = file.kubernetes;
  const minor = k8s.version.replace(/^v(\d+\.\d+)\..*$/, "$1");
  const images = KUBERNETES_MINORS[minor as keyof typeof KUBERNETES_MINORS] ?? KUBERNETES_MINORS["1.37"];
  const firstCp = nodes.find((n) => n.role === "control-plane") ?? nodes[0];
  const line = file.containerd.version;
  const ep = file.controlPlane?.endpoint;
  const vip = ep
    ? { address: ep.vip, port: ep.port, loadBalancer: ep.loadBalancer, routerId: vrrpRouterId(file.metadata.name) }
    : undefined;
  const dhcp =
    file.network.dhcpRange === undefined ? defaultDhcpRange(file, cidr.first, cidr.prefix) : file.network.dhcpRange;
  return {
    name: file.metadata.name,
    context: `kubelab-${file.metadata.name}`,
    provider: provider(file),
    network: {
      cidr: cidr.text,
      block: cidr,
      prefix: cidr.prefix,
      networkAddress: formatIpv4(cidr.first),
      broadcast: formatIpv4(cidr.last),
      gateway,
      firstAddress: formatIpv4(first),
      dhcpRange: dhcp ?? undefined,
    },
    nodes,
    ...(vip ? { vip } : {}),
    kubernetes: {
      version: k8s.version,
      minor,
      podSubnet: k8s.podSubnet,
      serviceSubnet: k8s.serviceSubnet,
      dnsDomain: "cluster.local",
      proxyMode: k8s.proxyMode,
      strictARP: k8s.strictARP ?? k8s.proxyMode === "ipvs",
      controlPlaneEndpoint: vip
        ? `${vip.address}:${vip.port}`
        : (k8s.controlPlaneEndpoint ?? `${firstCp?.ip ?? gateway}:6443`),
      endpointGiven: vip !== undefined || k8s.controlPlaneEndpoint !== undefined,
      controlPlaneRunsPods: nodes.every((n) => n.role === "control-plane"),
      images: {
        pause: `registry.k8s.io/pause:${images.pause}`,
        etcd: `registry.k8s.io/etcd:${images.etcd}`,
        coredns: `registry.k8s.io/coredns/coredns:${images.coredns}`,
      },
      packageVersion: `${k8s.version.slice(1)}-${PINNED.kubernetes.debRevision}`,
    },
    containerd: {
      line,
      version: PINNED.containerd[line].version,
      configVersion: PINNED.containerd[line].configVersion,
      cgroupDriver: file.containerd.cgroupDriver,
    },
    addons: addons(file, cidr),
  };
}

/**
 * vrrpRouterId is VRRP's virtual_router_id for a cluster: 1-255 from its name (FNV-1a), so
 * two labs sharing a network rarely share one, and the same cluster always gets the same.
 */
export function vrrpRouterId(name: string): number {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(name, "utf8")) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return (h % 255) + 1;
}

/** The box of a vagrant plan: the file's, or the one pinned for the hypervisor. */
function vagrantBox(p: Extract<ClusterFile["provider"], { name: "vagrant" }>): {
  box: string;
  boxVersion?: string;
  diskController?: string;
} {
  if (p.box) return p.boxVersion ? { box: p.box, boxVersion: p.boxVersion } : { box: p.box };
  const pinned = PINNED.vagrantBox[p.hypervisor];
  return {
    box: pinned.name,
    boxVersion: p.boxVersion ?? pinned.version,
    ...(pinned.diskController ? { diskController: pinned.diskController } : {}),
  };
}
