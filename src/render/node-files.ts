/**
 * Every file a node needs before kubeadm runs: kernel modules, sysctls, /etc/hosts,
 * containerd's config, kubelet's node-ip and the kubeadm configuration for its role.
 * Pure: the /etc/hosts merge takes the node's current file as a string.
 */

import { firstControlPlane } from "../plan/control-plane.js";
import type { Plan } from "../plan/types.js";
import { renderContainerdConfig } from "./containerd.js";
import { renderKubeadmInit, renderKubeadmJoin } from "./kubeadm.js";
import type { NodeEnvironment } from "./node-environment.js";
import type { RenderedFile } from "./types.js";

/**
 * renderModulesLoad lists the kernel modules systemd-modules-load loads at boot: overlay for
 * containerd's snapshotter, br_netfilter so bridged pod traffic passes iptables (without it
 * the bridge-nf sysctls do not even exist), and for ipvs mode the IPVS modules kube-proxy
 * checks at start (v1.37 exits with "can't use the IPVS proxier" when they are missing).
 */
export function renderModulesLoad(plan: Plan): RenderedFile {
  const modules = ["overlay", "br_netfilter"];
  if (plan.kubernetes.proxyMode === "ipvs") modules.push("ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", "nf_conntrack");
  return { path: "/etc/modules-load.d/kubelab.conf", content: `# Rendered by kubelab.\n${modules.join("\n")}\n` };
}

/** renderSysctl sets what kubeadm's preflight requires (bridged traffic seen by iptables, forwarding on). */
export function renderSysctl(_plan: Plan): RenderedFile {
  const settings = [
    "net.bridge.bridge-nf-call-iptables = 1",
    "net.bridge.bridge-nf-call-ip6tables = 1",
    "net.ipv4.ip_forward = 1",
  ];
  return { path: "/etc/sysctl.d/99-kubelab.conf", content: `# Rendered by kubelab.\n${settings.join("\n")}\n` };
}

const begin = (plan: Plan) => `# BEGIN kubelab ${plan.name}`;
const end = (plan: Plan) => `# END kubelab ${plan.name}`;

/** renderHostsBlock is kubelab's managed /etc/hosts block: every node as `ip name`. */
export function renderHostsBlock(plan: Plan): string {
  return [begin(plan), ...plan.nodes.map((n) => `${n.ip} ${n.name}`), end(plan)].join("\n");
}

/** Splits a hosts line into address, names and trailing comment; undefined for blank/comment lines. */
function parseHostsLine(line: string): { address: string; names: string[]; comment: string } | undefined {
  const hash = line.indexOf("#");
  const body = hash === -1 ? line : line.slice(0, hash);
  const [address, ...names] = body.trim().split(/\s+/);
  if (!address || names.length === 0) return undefined;
  return { address, names, comment: hash === -1 ? "" : line.slice(hash) };
}

/**
 * mergeHosts puts the plan's managed block into an existing /etc/hosts and returns the result.
 * It is idempotent: mergeHosts(mergeHosts(x)) === mergeHosts(x).
 *
 * - Text outside the block is kept; an existing block (or several, from an interrupted
 *   edit) is replaced where the first one was, otherwise the block is appended.
 * - Node names mapped to any other address outside the block are removed from those lines
 *   (the line goes when no name is left). Vagrant and cloud images write `127.0.1.1 master-1`
 *   (or `127.0.2.1`); kubelet and kubeadm then resolve the node's own name to loopback and
 *   register or advertise the wrong address, and other nodes cannot reach it by name.
 * - `127.0.0.1 localhost` is guaranteed (added at the top): Calico's Felix binds its health
 *   endpoint to the name `localhost` and, without the entry, asks the upstream DNS and
 *   crash-loops (`lookup localhost on 8.8.8.8:53`, calico#6963).
 */
export function mergeHosts(existing: string, plan: Plan): string {
  const ips = new Map(plan.nodes.map((n) => [n.name.toLowerCase(), n.ip]));
  const lines = existing.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const out: string[] = [];
  let at: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const marker = line.trim();
    if (marker === begin(plan)) {
      at ??= out.length;
      // Skip to the matching END. A BEGIN without one (an interrupted edit) is dropped on
      // its own: treating the rest of the file as the block would delete the user's lines.
      const close = lines.findIndex((l, j) => j > i && (l.trim() === end(plan) || l.trim() === begin(plan)));
      if (close !== -1 && lines[close]?.trim() === end(plan)) i = close;
      continue;
    }
    if (marker === end(plan)) continue; // an END left over without its BEGIN
    const entry = parseHostsLine(line);
    if (!entry) {
      out.push(line);
      continue;
    }
    const names = entry.names.filter((name) => (ips.get(name.toLowerCase()) ?? entry.address) === entry.address);
    if (names.length === entry.names.length) out.push(line);
    else if (names.length > 0) out.push([entry.address, ...names, entry.comment].filter(Boolean).join(" "));
  }
  const hasLocalhost = out.some((l) => {
    const e = parseHostsLine(l);
    return e?.address === "127.0.0.1" && e.names.includes("localhost");
  });
  if (!hasLocalhost) {
    out.unshift("127.0.0.1 localhost");
    if (at !== undefined) at++;
  }
  if (at === undefined) {
    if (out.length > 0 && out.at(-1)?.trim() !== "") out.push("");
    at = out.length;
  }
  out.splice(at, 0, renderHostsBlock(plan));
  return `${out.join("\n")}\n`;
}

/** What a fresh node's /etc/hosts holds before kubelab's block. */
const BASE_HOSTS = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n";

/**
 * renderNodeFiles returns every file kubelab writes on a node, in writing order. The
 * /etc/hosts here is rendered from a fresh base; on an existing machine the phase merges
 * into the file it finds with {@link mergeHosts} instead. The first control plane gets
 * the kubeadm init configuration, every other node the (secret-free) join configuration.
 * `env` says what kind of machine the node is (containerd's and kubeadm's settings
 * depend on it); there is no default, so no caller can forget a container node.
 */
export function renderNodeFiles(plan: Plan, nodeName: string, env: NodeEnvironment): RenderedFile[] {
  const node = plan.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`renderNodeFiles: node ${nodeName} is not in cluster ${plan.name}`);
  return [
    renderModulesLoad(plan),
    renderSysctl(plan),
    { path: "/etc/hosts", content: mergeHosts(BASE_HOSTS, plan) },
    renderContainerdConfig(plan, env),
    // Read by kubelet's systemd drop-in as well as kubeadm's flags file, so the lab address
    // holds even for a kubelet started before or without kubeadm (never the NAT 10.0.2.15).
    { path: "/etc/default/kubelet", content: `KUBELET_EXTRA_ARGS=--node-ip=${node.ip}\n` },
    node === firstControlPlane(plan) ? renderKubeadmInit(plan, env) : renderKubeadmJoin(plan, nodeName),
  ];
}
