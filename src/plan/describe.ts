/**
 * Human-readable views of a plan: the summary `kubelab plan` prints, with an at-a-glance
 * map of the lab network so that a clash (pool on a node, pool in DHCP) is visible before
 * anything is created.
 */
import { formatIpv4, type Ipv4Range, overlaps, parseIpv4, parseRange, rangeSize } from "../net/ipv4.js";
import type { AppliedNode } from "./applied-nodes.js";
import type { Plan } from "./types.js";
import { describeUpgradeOrder } from "./upgrade-path.js";

/** One labelled block of the lab network. */
export interface NetworkSegment extends Ipv4Range {
  readonly mark: string;
  readonly label: string;
}

/** networkSegments lists what occupies the lab network, in address order. */
export function networkSegments(plan: Plan): NetworkSegment[] {
  const lab = plan.network.block;
  const one = (ip: string) => parseIpv4(ip) ?? 0;
  const segs: NetworkSegment[] = [
    { first: lab.first, last: lab.first, mark: "|", label: "network address" },
    { first: one(plan.network.gateway), last: one(plan.network.gateway), mark: "G", label: "gateway (this host)" },
    ...plan.nodes.map((n) => ({ first: one(n.ip), last: one(n.ip), mark: "N", label: `node ${n.name} (${n.role})` })),
    ...(plan.vip
      ? [
          {
            first: one(plan.vip.address),
            last: one(plan.vip.address),
            mark: "V",
            label: `control-plane VIP (${plan.vip.loadBalancer === "kube-vip" ? "kube-vip" : "keepalived"}, API on :${plan.vip.port})`,
          },
        ]
      : []),
    { first: lab.last, last: lab.last, mark: "|", label: "broadcast" },
  ];
  if (plan.addons.metallb.enabled) {
    for (const p of plan.addons.metallb.pools) {
      const r = parseRange(p);
      if (r) segs.push({ ...r, mark: "L", label: `MetalLB pool (${rangeSize(r)} addresses)` });
    }
  }
  const dhcp = plan.network.dhcpRange ? parseRange(plan.network.dhcpRange) : undefined;
  if (dhcp) segs.push({ ...dhcp, mark: "D", label: "DHCP range" });
  return segs.sort((a, b) => a.first - b.first || a.last - b.last);
}

/**
 * networkStrip draws the lab network as one line of `width` cells: each cell shows what
 * occupies its addresses (`!` where two things overlap, `.` where nothing is).
 */
export function networkStrip(plan: Plan, width = 64): string {
  const lab = plan.network.block;
  const cells = Math.min(width, rangeSize(lab));
  const per = rangeSize(lab) / cells;
  const segs = networkSegments(plan);
  let out = "";
  for (let c = 0; c < cells; c++) {
    const cell = { first: lab.first + Math.floor(c * per), last: lab.first + Math.floor((c + 1) * per) - 1 };
    const hits = segs.filter((s) => overlaps(s, cell));
    // The network and broadcast bars only show where nothing else is.
    const marks = new Set(hits.map((h) => h.mark).filter((m, _, all) => m !== "|" || all.every((x) => x === "|")));
    out += marks.size === 0 ? "." : marks.size === 1 ? [...marks][0] : clash(hits) ? "!" : ([...marks][0] ?? ".");
  }
  return out;
}

/** Two different things on the same addresses, not merely in the same map cell. */
function clash(hits: NetworkSegment[]): boolean {
  return hits.some((a, i) => hits.slice(i + 1).some((b) => a.mark !== b.mark && overlaps(a, b)));
}

function short(plan: Plan, n: number): string {
  // For /24 and smaller, ".46" reads faster than the full address.
  return plan.network.prefix >= 24 ? `.${n % 256}` : formatIpv4(n);
}

/**
 * describePlan renders the summary `kubelab plan` prints; `width` (a terminal's) narrows the
 * network map, which must stay one line to be read. `toRemove` are the nodes kubelab made
 * that the file no longer has.
 */
export function describePlan(plan: Plan, opts: { width?: number; toRemove?: readonly AppliedNode[] } = {}): string {
  const p = plan.provider;
  const provider =
    p.name === "vagrant"
      ? `vagrant (${p.hypervisor}, box ${p.box}${p.boxVersion ? ` ${p.boxVersion}` : ""})`
      : p.name === "nspawn"
        ? `nspawn (${p.release})`
        : `ssh (${p.hosts.length} hosts)`;
  const lines = [`Cluster ${plan.name}: provider ${provider}, context ${plan.context}`, "", "Nodes"];
  const w = Math.max(4, ...plan.nodes.map((n) => n.name.length));
  lines.push(`  ${"NAME".padEnd(w)}  ROLE           CPUS  MEMORY     IP`);
  for (const n of plan.nodes) {
    lines.push(
      `  ${n.name.padEnd(w)}  ${n.role.padEnd(13)}  ${String(n.cpus).padEnd(4)}  ${`${n.memoryMiB} MiB`.padEnd(9)}  ${n.ip}`,
    );
  }
  const gone = opts.toRemove ?? [];
  if (gone.length > 0) {
    lines.push("", "To remove (no longer in the file; kubelab up --prune drains and removes them)");
    const g = Math.max(4, ...gone.map((n) => n.name.length));
    lines.push(`  ${"NAME".padEnd(g)}  ROLE           IP`);
    for (const n of gone) lines.push(`  ${n.name.padEnd(g)}  ${n.role.padEnd(13)}  ${n.ip}`);
  }
  lines.push("", `Lab network ${plan.network.cidr}`);
  for (const s of networkSegments(plan)) {
    const where = s.first === s.last ? short(plan, s.first) : `${short(plan, s.first)}-${short(plan, s.last)}`;
    lines.push(`  ${where.padEnd(16)}${s.label}`);
  }
  lines.push(
    `  [${networkStrip(plan, opts.width ? Math.max(16, Math.min(64, opts.width - 4)) : 64)}]`,
    `  G gateway  N node  ${plan.vip ? "V VIP  " : ""}L LoadBalancer pool  D DHCP  ! overlap  . free`,
    "",
  );
  const k = plan.kubernetes;
  lines.push(
    `Pods         ${k.podSubnet}`,
    `Services     ${k.serviceSubnet}`,
    `API server   https://${k.controlPlaneEndpoint}${plan.vip ? ` (a VIP held by one control plane, to every API server's :6443)` : ""}`,
    ...(k.controlPlaneRunsPods
      ? ["Scheduling   pods run on the control plane: no workers, so it is registered without its NoSchedule taint"]
      : []),
    `kube-proxy   ${k.proxyMode}${k.proxyMode === "ipvs" ? ` (strictARP ${k.strictARP})` : ""}`,
    "",
    "Versions",
    `  kubernetes   ${k.version} (packages ${k.packageVersion}; ${k.images.pause}, ${k.images.etcd}, ${k.images.coredns})`,
    `  containerd   ${plan.containerd.version} (config version ${plan.containerd.configVersion}, cgroup driver ${plan.containerd.cgroupDriver} for runc and kubelet)`,
  );
  const a = plan.addons;
  if (a.cni.plugin === "calico")
    lines.push(
      `  calico       ${a.cni.version} (encapsulation ${a.cni.encapsulation}, IP_AUTODETECTION_METHOD=${a.cni.ipAutodetectionMethod}, FELIX_HEALTHHOST=127.0.0.1)`,
    );
  else lines.push("  cni          none (bring your own)");
  lines.push(
    a.metallb.enabled
      ? `  metallb      ${a.metallb.version} (L2, pools ${a.metallb.pools.join(", ")})`
      : "  metallb      disabled",
  );
  lines.push(
    a.ui.kind === "none"
      ? "  ui           none"
      : `  ${a.ui.kind.padEnd(12)} ${a.ui.version}${a.ui.archived ? " (archived upstream)" : ""}, LoadBalancer, externalTrafficPolicy Cluster`,
  );
  lines.push(
    a.linkerd.enabled
      ? `  linkerd      ${a.linkerd.version}${a.linkerd.viz ? " + viz" : ""} (P-256 trust anchor and issuer made by kubelab)`
      : "  linkerd      disabled",
  );
  lines.push(
    "",
    `Upgrade: when the cluster runs an older release (one minor back at most), up takes it to ${k.version} in this order`,
    ...describeUpgradeOrder(plan).map((l, i) => `  ${i + 1}. ${l}`),
  );
  return lines.join("\n");
}
