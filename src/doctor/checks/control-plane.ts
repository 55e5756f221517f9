/**
 * The control plane as a whole: etcd's members and their quorum, asked of a control plane's
 * etcd container, and which control plane holds the VIP of `controlPlane.endpoint`, from each
 * control plane's `ip -j addr show`.
 */
import { type EtcdHealth, type EtcdMember, healthOutput, parseMemberList, quorum } from "../../phases/etcd.js";
import type { Plan } from "../../plan/types.js";
import { NODE_COMMANDS, nodeInterfaces } from "../nodes.js";
import type { Check, CommandEvidence, Evidence, Finding } from "../types.js";

const controlPlanes = (plan: Plan) => plan.nodes.filter((n) => n.role === "control-plane");
const lastLine = (s: string) => s.trim().split("\n").at(-1) ?? "";
const failed = (key: string, r: CommandEvidence) =>
  `\`${key}\` exited ${r.code}${r.stderr.trim() ? `: ${lastLine(r.stderr)}` : ""}`;

// --- etcd -------------------------------------------------------------------------------------

/** What one control plane's etcd said: its members and their health, or why it said nothing. */
type EtcdView =
  | { readonly node: string; readonly members: EtcdMember[]; readonly health: EtcdHealth[] }
  | { readonly node: string; readonly error: string };

function etcdView(node: string, e: Evidence): EtcdView | undefined {
  const ev = e.nodes?.[node];
  if (!ev) return undefined;
  const list = ev.commands[NODE_COMMANDS.etcdMembers];
  const health = ev.commands[NODE_COMMANDS.etcdHealth];
  if (!list || !health) return { node, error: "etcd was not asked on this node" };
  if (list.code !== 0) return { node, error: failed(NODE_COMMANDS.etcdMembers, list) };
  let members: EtcdMember[];
  try {
    members = parseMemberList(list.stdout);
  } catch (err) {
    return { node, error: (err as Error).message };
  }
  const parsed = healthOutput(health.stdout);
  if (!parsed) return { node, error: failed(NODE_COMMANDS.etcdHealth, health) };
  return { node, members, health: parsed };
}

/** A member's health: by its client URLs, which `endpoint health --cluster` reports. */
const memberHealth = (m: EtcdMember, health: readonly EtcdHealth[]) =>
  health.find((h) => m.clientURLs.includes(h.endpoint));

function etcdQuorum(e: Evidence, plan: Plan): Finding[] {
  const cps = controlPlanes(plan);
  const views = cps.flatMap((n) => etcdView(n.name, e) ?? []);
  const answered = views.find((v): v is Extract<EtcdView, { members: EtcdMember[] }> => "members" in v);
  if (!answered) {
    const why = views.map((v) => `${v.node}: ${"error" in v ? v.error : ""}`);
    return [
      {
        verdict: "fail",
        evidence: why.length > 0 ? why : ["no control plane was read"],
        fix: "etcd answered on no control plane: check its static pod there (crictl ps --name etcd; crictl logs of it) and that the control plane machines run (kubelab status; kubelab up starts stopped ones)",
      },
    ];
  }
  const voters = answered.members.filter((m) => !m.isLearner);
  const healthy = voters.filter((m) => memberHealth(m, answered.health)?.health === true);
  const need = quorum(voters.length);
  const line = (m: EtcdMember) => {
    const h = memberHealth(m, answered.health);
    const name = m.name || `${m.id} (never started)`;
    return `${name}: ${h?.health ? "healthy" : `unhealthy${h?.error ? ` (${h.error})` : m.started ? "" : " (not started)"}`}`;
  };
  const evidence = [
    `asked of ${answered.node}: ${voters.length} voting member${voters.length === 1 ? "" : "s"}, ${healthy.length} healthy, quorum ${need}`,
    ...answered.members.map((m) => `${line(m)}${m.isLearner ? " (learner)" : ""}`),
  ];
  const names = new Set(answered.members.map((m) => m.name));
  const absent = cps.filter((n) => !names.has(n.name)).map((n) => n.name);
  if (absent.length > 0)
    evidence.push(`no started member for control plane${absent.length > 1 ? "s" : ""} ${absent.join(", ")}`);
  if (healthy.length < need)
    return [
      {
        verdict: "fail",
        evidence: [...evidence, "etcd has lost quorum: the API server can no longer write"],
        fix: "bring the stopped control planes back (kubelab up starts stopped machines) until a majority of members is healthy; a member whose data is lost must be removed (etcdctl member remove) and its node joined again",
      },
    ];
  if (healthy.length < voters.length || absent.length > 0)
    return [
      {
        verdict: "warn",
        evidence: [...evidence, "degraded but quorate: writes still succeed, one more failure may stop them"],
        fix: "bring the unhealthy member's control plane back (kubelab up starts stopped machines), or remove a member whose machine is gone (etcdctl member remove) and join the node again",
      },
    ];
  return [{ verdict: "pass", evidence }];
}

// --- VIP ------------------------------------------------------------------------------------------

function vipHolder(e: Evidence, plan: Plan): Finding[] {
  const vip = plan.vip;
  if (vip?.loadBalancer !== "keepalived-haproxy") return [];
  const holders: string[] = [];
  const evidence: string[] = [];
  for (const n of controlPlanes(plan)) {
    const ev = e.nodes?.[n.name];
    if (!ev) {
      evidence.push(`${n.name}: not read (stopped or unreachable)`);
      continue;
    }
    const interfaces = nodeInterfaces(ev);
    if (!interfaces) {
      evidence.push(`${n.name}: \`${NODE_COMMANDS.addresses}\` gave no interfaces`);
      continue;
    }
    const on = interfaces.filter((i) => i.addresses.some((a) => a.address === vip.address)).map((i) => i.name);
    if (on.length > 0) {
      holders.push(n.name);
      evidence.push(`${n.name} holds ${vip.address} on ${on.join(", ")}`);
    } else evidence.push(`${n.name}: does not hold ${vip.address}`);
  }
  if (holders.length === 1) return [{ verdict: "pass", subject: holders[0], evidence }];
  if (holders.length === 0)
    return [
      {
        verdict: "fail",
        evidence: [...evidence, `no control plane holds the VIP ${vip.address}: the API endpoint does not answer`],
        fix: "start keepalived and haproxy on the control planes (systemctl status keepalived haproxy; journalctl -u keepalived says why a node gave the VIP up), or run kubelab up, which writes their configuration and starts them",
      },
    ];
  return [
    {
      verdict: "fail",
      evidence: [...evidence, `${holders.length} control planes hold the VIP ${vip.address} at once (split brain)`],
      fix: `VRRP adverts between the control planes do not arrive: let IP protocol 112 (VRRP) pass between their lab addresses, and check that only this cluster uses virtual_router_id ${vip.routerId} on the network (journalctl -u keepalived)`,
    },
  ];
}

export const controlPlaneChecks: readonly Check[] = [
  {
    id: "control-plane.etcd-quorum",
    title: "etcd's members are healthy and keep quorum",
    needs: ["nodes"],
    references: ["https://etcd.io/docs/v3.6/faq/#what-is-failure-tolerance"],
    run: etcdQuorum,
  },
  {
    id: "control-plane.vip",
    title: "exactly one control plane holds the control-plane VIP",
    needs: ["nodes"],
    references: ["https://github.com/kubernetes/kubeadm/blob/main/docs/ha-considerations.md"],
    run: vipHolder,
  },
];
