/**
 * The highly available control plane's files (`controlPlane.endpoint`), as kubeadm's HA
 * guide (ha-considerations.md) lays them out: on every control plane, keepalived holds the
 * virtual IP on the lab interface for one node at a time (VRRP, priority by node order) and
 * drops it when a check of the local HAProxy fails; HAProxy listens on the endpoint's port on
 * every address and forwards to every control plane's API server on 6443, with health checks.
 *
 * VRRP goes unicast between the control planes' lab addresses, so it needs no multicast on
 * the lab network (hypervisor networks and bridges differ there).
 */
import type { Plan, PlanNode, PlanVip } from "../plan/types.js";
import type { RenderedFile } from "./types.js";

export const KEEPALIVED_CONF_PATH = "/etc/keepalived/keepalived.conf";
export const KEEPALIVED_CHECK_PATH = "/etc/keepalived/check_apiserver.sh";
export const HAPROXY_CFG_PATH = "/etc/haproxy/haproxy.cfg";
/** The distribution packages (Debian and Ubuntu names) the files are for. */
export const HA_PACKAGES = ["keepalived", "haproxy"] as const;

/** The port every API server listens on. */
const API_SERVER_PORT = 6443;
/** The highest VRRP priority, the first control plane's; the next get one less each. */
const TOP_PRIORITY = 150;
/**
 * What a failing check takes off a node's priority: more than the spread of the priorities,
 * so a node whose HAProxy answers always outranks one whose does not.
 */
const CHECK_WEIGHT = 50;
/**
 * How long a control plane that starts (a reboot) waits before it takes the VIP back from one
 * with a lower priority: its own API server comes up meanwhile, and the VIP moves once, not
 * while the node is still starting.
 */
const PREEMPT_DELAY_S = 30;

/** haEnabled says whether the plan runs keepalived and HAProxy on its control planes. */
export function haEnabled(plan: Plan): plan is Plan & { vip: PlanVip } {
  return plan.vip?.loadBalancer === "keepalived-haproxy";
}

const controlPlanes = (plan: Plan): PlanNode[] => plan.nodes.filter((n) => n.role === "control-plane");

/**
 * renderKeepalived is keepalived.conf for one control plane: `iface` is its lab interface
 * (the one holding its lab address, which only the node's facts know).
 */
export function renderKeepalived(plan: Plan, nodeName: string, iface: string): string {
  const vip = requireVip(plan);
  const cps = controlPlanes(plan);
  const index = cps.findIndex((n) => n.name === nodeName);
  const self = cps[index];
  if (!self) throw new Error(`ha: ${nodeName} is not a control plane of cluster ${plan.name}`);
  const peers = cps.filter((n) => n !== self).map((n) => `        ${n.ip}\n`);
  return `# Rendered by kubelab for cluster "${plan.name}": the control-plane VIP on ${nodeName}.
global_defs {
    router_id ${nodeName}
    enable_script_security
    script_user root
}

vrrp_script check_apiserver {
    script "${KEEPALIVED_CHECK_PATH}"
    interval 3
    timeout 5
    fall 10
    rise 2
    weight -${CHECK_WEIGHT}
}

vrrp_instance ${plan.name.replaceAll("-", "_")}_api {
    state BACKUP
    interface ${iface}
    virtual_router_id ${vip.routerId}
    priority ${TOP_PRIORITY - index}
    advert_int 1
    preempt_delay ${PREEMPT_DELAY_S}
    unicast_src_ip ${self.ip}
    unicast_peer {
${peers.join("")}    }
    virtual_ipaddress {
        ${vip.address}/32 dev ${iface}
    }
    track_script {
        check_apiserver
    }
}
`;
}

/** renderCheckScript is keepalived's check: does the API answer through this node's HAProxy? */
export function renderCheckScript(plan: Plan): string {
  const vip = requireVip(plan);
  return `#!/bin/sh
# Rendered by kubelab for cluster "${plan.name}": keepalived's check of the local HAProxy.
errorExit() {
    echo "*** $*" 1>&2
    exit 1
}

curl -sfk --max-time 2 https://localhost:${vip.port}/healthz -o /dev/null || errorExit "Error GET https://localhost:${vip.port}/healthz"
`;
}

/** renderHaproxy is haproxy.cfg: the endpoint's port on every address, to every API server. */
export function renderHaproxy(plan: Plan): string {
  const vip = requireVip(plan);
  const servers = controlPlanes(plan).map(
    (n) => `    server ${n.name} ${n.ip}:${API_SERVER_PORT} check verify none inter 2s fall 3 rise 2\n`,
  );
  return `# Rendered by kubelab for cluster "${plan.name}": the control-plane endpoint's load balancer.
global
    log /dev/log local0
    maxconn 4000
    daemon

defaults
    mode tcp
    log global
    option tcplog
    option dontlognull
    retries 1
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout check 5s

frontend apiserver
    bind *:${vip.port}
    default_backend apiservers

backend apiservers
    option httpchk
    http-check connect ssl
    http-check send meth GET uri /healthz
    http-check expect status 200
    balance roundrobin
${servers.join("")}`;
}

/**
 * renderHaFiles are the files of one control plane (none for a worker, or without a VIP
 * kubelab runs): keepalived.conf, its check script and haproxy.cfg.
 */
export function renderHaFiles(plan: Plan, nodeName: string, iface: string): RenderedFile[] {
  if (!haEnabled(plan)) return [];
  if (!controlPlanes(plan).some((n) => n.name === nodeName)) return [];
  return [
    { path: KEEPALIVED_CONF_PATH, content: renderKeepalived(plan, nodeName, iface) },
    { path: KEEPALIVED_CHECK_PATH, content: renderCheckScript(plan), mode: 0o755 },
    { path: HAPROXY_CFG_PATH, content: renderHaproxy(plan) },
  ];
}

function requireVip(plan: Plan): PlanVip {
  if (!plan.vip) throw new Error(`ha: cluster ${plan.name} has no controlPlane.endpoint`);
  return plan.vip;
}
