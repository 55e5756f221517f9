/**
 * Semantic rules: what the schema cannot see. Each rule reads the file and the derived
 * plan and reports every problem it finds, with the path of the field to change.
 */

import type { ConfigIssue } from "../config/issues.js";
import { type ClusterFile, DNS1123_LABEL } from "../config/schema.js";
import {
  contains,
  containsAddress,
  formatIpv4,
  type Ipv4Range,
  overlaps,
  parseCidr,
  parseIpv4,
  parseRange,
} from "../net/ipv4.js";
import { KUBERNETES_VERSIONS } from "../versions.js";
import type { Plan } from "./types.js";

/** What the rules report: errors stop kubelab, warnings are printed. */
export interface RuleReport {
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

type Rule = (file: ClusterFile, plan: Plan, report: RuleReport) => void;

const MIN_CP_CPUS = 2;
/** The port every API server listens on (kubeadm's default, which kubelab keeps). */
const API_SERVER_PORT = 6443;
const MIN_CP_MEMORY_MIB = 1700;

const nodePath = (plan: Plan, i: number, field: string) => ["nodes", plan.nodes[i]?.source ?? 0, field];

const names: Rule = (file, plan, r) => {
  file.nodes.forEach((entry, i) => {
    if (entry.count > 1 && !entry.name.includes("{n}")) {
      r.errors.push({
        path: ["nodes", i, "name"],
        message: `count is ${entry.count} but the name has no {n}`,
        fix: `use a pattern such as ${entry.name}-{n}`,
      });
    }
  });
  const seen = new Map<string, number>();
  plan.nodes.forEach((n, i) => {
    if (!DNS1123_LABEL.test(n.name) || n.name.length > 63) {
      r.errors.push({
        path: nodePath(plan, i, "name"),
        message: `"${n.name}" is not a DNS-1123 label`,
        fix: "use lowercase letters, digits and '-', starting and ending with a letter or digit, such as worker-1",
      });
    } else if (seen.has(n.name) && !patternless(file, n.source)) {
      r.errors.push({
        path: nodePath(plan, i, "name"),
        message: `node name "${n.name}" is used twice`,
        fix: "give every node its own name",
      });
    }
    seen.set(n.name, i);
  });
};

/** A group with count > 1 and no {n} in its name: already reported, so its duplicates are not. */
const patternless = (file: ClusterFile, i: number) => {
  const entry = file.nodes[i];
  return entry !== undefined && entry.count > 1 && !entry.name.includes("{n}");
};

const controlPlane: Rule = (file, plan, r) => {
  if (!plan.nodes.some((n) => n.role === "control-plane")) {
    r.errors.push({
      path: ["nodes"],
      message: "no node has role control-plane",
      fix: "add a node with role: control-plane, such as master-1",
    });
  }
  plan.nodes.forEach((n, i) => {
    if (n.role !== "control-plane") return;
    if (n.cpus < MIN_CP_CPUS)
      r.errors.push({
        path: nodePath(plan, i, "cpus"),
        message: `control plane ${n.name} has ${n.cpus} CPU; kubeadm needs at least ${MIN_CP_CPUS}`,
        fix: `set cpus: ${MIN_CP_CPUS}`,
      });
    if (n.memoryMiB < MIN_CP_MEMORY_MIB)
      r.errors.push({
        path: nodePath(plan, i, "memory"),
        message: `control plane ${n.name} has ${n.memoryMiB} MiB; kubeadm needs at least ${MIN_CP_MEMORY_MIB} MiB`,
        fix: "set memory: 2048 or more",
      });
  });
  const cps = plan.nodes.filter((n) => n.role === "control-plane").length;
  if (cps > 1 && !plan.kubernetes.endpointGiven) {
    r.errors.push({
      path: ["kubernetes", "controlPlaneEndpoint"],
      message: `${cps} control planes need one endpoint in front of them`,
      fix: "set controlPlane.endpoint.vip to a free lab address (kubelab runs keepalived and HAProxy), or kubernetes.controlPlaneEndpoint to a load balancer of your own",
    });
  }
  if (file.provider.name === "ssh") {
    const hosts = file.provider.hosts;
    const nodeNames = new Set(plan.nodes.map((n) => n.name));
    hosts.forEach((h, i) => {
      if (!nodeNames.has(h.node))
        r.errors.push({
          path: ["provider", "hosts", i, "node"],
          message: `no node is named "${h.node}"`,
          fix: `use one of: ${[...nodeNames].join(", ")}`,
        });
    });
    for (const [i, n] of plan.nodes.entries()) {
      if (!hosts.some((h) => h.node === n.name))
        r.errors.push({
          path: nodePath(plan, i, "name"),
          message: `node ${n.name} has no entry in provider.hosts`,
          fix: `add { node: ${n.name}, address: ... } to provider.hosts`,
        });
    }
  }
};

const addresses: Rule = (file, plan, r) => {
  const lab = plan.network.block;
  const reserved = reservedAddresses(plan, lab);
  if (!containsAddress(lab, plan.network.gateway))
    r.errors.push({
      path: ["network", "gateway"],
      message: `gateway ${plan.network.gateway} is outside ${lab.text}`,
      fix: `use an address inside ${lab.text}, such as ${formatIpv4(lab.first + 1)}`,
    });
  const dhcp = plan.network.dhcpRange ? parseRange(plan.network.dhcpRange) : undefined;
  const used = new Map<number, string>();
  plan.nodes.forEach((n, i) => {
    const ip = parseIpv4(n.ip) ?? 0;
    const where = file.nodes[n.source]?.ip === undefined ? "network.firstAddress" : "ip";
    const path = where === "ip" ? nodePath(plan, i, "ip") : ["network", "firstAddress"];
    if (!containsAddress(lab, ip)) {
      r.errors.push({
        path,
        message: `${n.name} gets ${n.ip}, outside the lab network ${lab.text}`,
        fix: `choose addresses inside ${lab.text}`,
      });
    } else if (reserved.has(ip)) {
      r.errors.push({
        path,
        message: `${n.name} gets ${n.ip}, which is ${reserved.get(ip)}`,
        fix: "choose another address",
      });
    } else if (used.has(ip)) {
      r.errors.push({
        path,
        message: `${n.name} and ${used.get(ip)} both get ${n.ip}`,
        fix: "give every node its own address",
      });
    } else if (dhcp && containsAddress(dhcp, ip)) {
      r.errors.push({
        path,
        message: `${n.name} gets ${n.ip}, inside the DHCP range ${plan.network.dhcpRange}`,
        fix: "choose addresses below the DHCP range, or set network.dhcpRange",
      });
    }
    used.set(ip, n.name);
  });
  if (dhcp && !overlaps(dhcp, lab))
    r.warnings.push({
      path: ["network", "dhcpRange"],
      message: `DHCP range ${plan.network.dhcpRange} is outside the lab network`,
    });
  // Accepted so that older files keep loading, but nothing ever read it: a name here would
  // promise what kubelab does not do.
  if (file.network.interface !== undefined)
    r.warnings.push({
      path: ["network", "interface"],
      message: "network.interface is ignored: kubelab finds each node's lab interface by the node's address",
      fix: "remove it; addons.cni.autodetection chooses how Calico picks the interface",
    });
};

/**
 * The control planes' virtual IP: one endpoint, not two; a free address of the lab network
 * (no node's, not reserved, outside the DHCP range and the MetalLB pools); a port HAProxy can
 * take beside the API servers' 6443; a load balancer this release has.
 */
const vip: Rule = (file, plan, r) => {
  const v = plan.vip;
  if (!v) return;
  const path = ["controlPlane", "endpoint", "vip"];
  if (file.kubernetes.controlPlaneEndpoint !== undefined)
    r.errors.push({
      path: ["kubernetes", "controlPlaneEndpoint"],
      message: `both kubernetes.controlPlaneEndpoint and controlPlane.endpoint are set; the API has one endpoint`,
      fix: "remove kubernetes.controlPlaneEndpoint: the VIP at controlPlane.endpoint is the endpoint",
    });
  if (v.loadBalancer === "kube-vip")
    r.errors.push({
      path: ["controlPlane", "endpoint", "loadBalancer"],
      message: "kube-vip is not available in this release: kubelab pins no kube-vip image to import on the nodes",
      fix: "use loadBalancer: keepalived-haproxy (the default)",
    });
  if (v.port === API_SERVER_PORT)
    r.errors.push({
      path: ["controlPlane", "endpoint", "port"],
      message: `port ${API_SERVER_PORT} is the API servers' own on every control plane; HAProxy cannot listen there too`,
      fix: "use another port, such as 8443 (the default)",
    });
  const lab = plan.network.block;
  const ip = parseIpv4(v.address) ?? 0;
  if (!containsAddress(lab, ip)) {
    r.errors.push({
      path,
      message: `VIP ${v.address} is outside the lab network ${lab.text}, so nothing can reach it`,
      fix: `choose a free address inside ${lab.text}, such as ${formatIpv4(lab.first + 10)}`,
    });
    return;
  }
  const reserved = reservedAddresses(plan, lab).get(ip);
  if (reserved) r.errors.push({ path, message: `VIP ${v.address} is ${reserved}`, fix: "choose a free address" });
  const node = plan.nodes.find((n) => n.ip === v.address);
  if (node)
    r.errors.push({
      path,
      message: `VIP ${v.address} is ${node.name}'s address`,
      fix: "choose an address no node has",
    });
  const dhcp = plan.network.dhcpRange ? parseRange(plan.network.dhcpRange) : undefined;
  if (dhcp && containsAddress(dhcp, ip))
    r.errors.push({
      path,
      message: `VIP ${v.address} is inside the DHCP range ${plan.network.dhcpRange}, which may hand it out`,
      fix: "choose an address outside the DHCP range",
    });
  if (plan.addons.metallb.enabled)
    for (const pool of plan.addons.metallb.pools) {
      const range = parseRange(pool);
      if (range && containsAddress(range, ip))
        r.errors.push({
          path,
          message: `VIP ${v.address} is inside the LoadBalancer pool ${pool}, which MetalLB hands to Services`,
          fix: "choose an address outside addons.metallb.pools",
        });
    }
};

/** reservedAddresses are the lab addresses nothing else may take, with what they are. */
function reservedAddresses(plan: Plan, lab: Ipv4Range): Map<number, string> {
  return new Map([
    [lab.first, "the network address"],
    [lab.last, "the broadcast address"],
    [parseIpv4(plan.network.gateway) ?? lab.first, "the gateway (the host's address)"],
  ]);
}

const pools: Rule = (file, plan, r) => {
  const lab = plan.network.block;
  const metallb = plan.addons.metallb;
  if (!metallb.enabled) return;
  if (file.addons.metallb.pools === undefined && !metallb.pools.every((p) => contains(lab, parseRange(p) ?? lab))) {
    // The default pool is the 46th to 56th addresses of the network: a smaller network has no room for it.
    r.errors.push({
      path: ["network", "cidr"],
      message: `the lab network ${lab.text} is too small for the default LoadBalancer pool (its 46th to 56th addresses)`,
      fix: `set addons.metallb.pools to a range inside ${lab.text}, or use a network of /26 or larger`,
    });
    return;
  }
  const dhcp = plan.network.dhcpRange ? parseRange(plan.network.dhcpRange) : undefined;
  const seen: { text: string; range: Ipv4Range }[] = [];
  metallb.pools.forEach((text, i) => {
    const path = ["addons", "metallb", "pools", i];
    const pool = parseRange(text);
    if (!pool) return;
    const problem = (message: string, fix: string) => r.errors.push({ path, message: `pool ${text} ${message}`, fix });
    if (!contains(lab, pool)) {
      problem(
        `is not inside the lab network ${lab.text}, so its L2 announcements never reach the host`,
        `use a range inside ${lab.text}`,
      );
      return;
    }
    const onNodes = plan.nodes.filter((n) => containsAddress(pool, n.ip));
    if (onNodes.length > 0) {
      problem(
        `contains node addresses: ${onNodes.map((n) => `${n.name} ${n.ip}`).join(", ")}`,
        "move the pool away from node addresses",
      );
    }
    for (const [ip, what] of reservedAddresses(plan, lab)) {
      if (containsAddress(pool, ip)) problem(`contains ${what} ${formatIpv4(ip)}`, "shrink the pool");
    }
    if (dhcp && overlaps(pool, dhcp)) {
      problem(
        `overlaps the DHCP range ${plan.network.dhcpRange}`,
        "move the pool out of the DHCP range, or set network.dhcpRange",
      );
    }
    for (const other of seen) {
      if (overlaps(other.range, pool)) problem(`overlaps pool ${other.text}`, "make pools disjoint");
    }
    seen.push({ text, range: pool });
  });
};

const subnets: Rule = (_file, plan, r) => {
  const k = plan.kubernetes;
  const blocks = [
    { path: ["network", "cidr"], name: "lab network", text: plan.network.cidr, range: plan.network.block },
    { path: ["kubernetes", "podSubnet"], name: "pod subnet", text: k.podSubnet, range: parseCidr(k.podSubnet) },
    {
      path: ["kubernetes", "serviceSubnet"],
      name: "service subnet",
      text: k.serviceSubnet,
      range: parseCidr(k.serviceSubnet),
    },
  ];
  for (let i = 0; i < blocks.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = blocks[i];
      const b = blocks[j];
      if (a?.range && b?.range && overlaps(a.range, b.range))
        r.errors.push({
          path: a.path,
          message: `${a.name} ${a.text} overlaps the ${b.name} ${b.text}`,
          fix: `choose a ${a.name} that shares no address with the ${b.name}`,
        });
    }
  }
};

const kubernetes: Rule = (file, plan, r) => {
  // Only a pinned release: its packages, images and the images its kubeadm expects are known.
  if (!KUBERNETES_VERSIONS.includes(plan.kubernetes.version)) {
    r.errors.push({
      path: ["kubernetes", "version"],
      message: `Kubernetes ${plan.kubernetes.version} is not a release kubelab pins`,
      fix: `use ${KUBERNETES_VERSIONS.join(" or ")}`,
    });
  }
  const k = file.kubernetes;
  if (k.proxyMode === "ipvs" && plan.addons.metallb.enabled && k.strictARP === false) {
    r.errors.push({
      path: ["kubernetes", "strictARP"],
      message:
        "MetalLB L2 with kube-proxy in ipvs mode needs strictARP, or nodes answer ARP for every LoadBalancer address",
      fix: "remove strictARP: false (it defaults to true with ipvs)",
    });
  }
  if (k.proxyMode === "ipvs") {
    r.warnings.push({
      path: ["kubernetes", "proxyMode"],
      message: "kube-proxy's ipvs mode is deprecated since Kubernetes 1.35",
      fix: "prefer iptables or nftables",
    });
  }
  if (k.strictARP !== undefined && k.proxyMode !== "ipvs") {
    r.warnings.push({
      path: ["kubernetes", "strictARP"],
      message: `strictARP only affects ipvs mode; proxyMode is ${k.proxyMode}`,
    });
  }
  if (plan.addons.ui.kind !== "none" && !plan.addons.metallb.enabled) {
    r.warnings.push({
      path: ["addons", "ui"],
      message: "the UI's LoadBalancer Service gets no address without MetalLB",
      fix: "enable addons.metallb, or reach the UI with kubectl port-forward",
    });
  }
  if (plan.addons.ui.kind === "dashboard") {
    r.warnings.push({
      path: ["addons", "ui"],
      message: "the Kubernetes Dashboard was archived upstream in January 2026 and gets no fixes",
      fix: "use ui: headlamp",
    });
  }
};

/** The rules, in the order their errors are reported. */
export const RULES: readonly Rule[] = [names, controlPlane, addresses, vip, pools, subnets, kubernetes];

/** checkRules runs every rule and collects all of their findings. */
export function checkRules(file: ClusterFile, plan: Plan): RuleReport {
  const report: RuleReport = { errors: [], warnings: [] };
  for (const rule of RULES) rule(file, plan, report);
  return report;
}
