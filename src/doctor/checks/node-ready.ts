/**
 * node.ready: each Node's Ready condition as its kubelet posted it and, for a node that is not
 * Ready, the causes the API shows: no CNI installed, calico-node on that node not ready (its
 * containers, init containers first), or no calico-node pod on that node at all (the
 * DaemonSet's counts, the node's taints against its tolerations). A kubeadm node stays
 * NotReady until a CNI writes its configuration, so without this check a cluster whose every
 * node is NotReady reports nothing wrong.
 */
import { formatIpv4, parseCidr } from "../../net/ipv4.js";
import type { Plan } from "../../plan/types.js";
import { CALICO_NODE } from "../../render/calico.js";
import { API_KEYS, isCalicoNodePod } from "../api.js";
import { nameOf, namespaceOf, num, objects, refOf, str, strings } from "../object.js";
import type { Check, Evidence, Finding } from "../types.js";
import { calicoDaemonSet, FELIX_HEALTH_LOCALHOST } from "./calico.js";
import { items, podReady } from "./common.js";
import { type ContainerReport, condition, containerReports, culprit, describeCondition } from "./pod-status.js";
import { placement } from "./tolerations.js";

/** One cause seen for a NotReady node: what shows it, and what to do (none when it explains nothing). */
interface Cause {
  readonly evidence: readonly string[];
  readonly fix?: string;
}

/** The init containers of calico-node that talk to the API server before the CNI is installed. */
const API_INIT_CONTAINERS = ["upgrade-ipam", "install-cni"];

/** The cause when no CNI is there to make the node Ready; undefined when calico-node's DaemonSet exists. */
function noCni(e: Evidence, plan: Plan): Cause | undefined {
  if (calicoDaemonSet(e)) return undefined;
  if (plan.addons.cni.plugin === "none")
    return {
      evidence: ["addons.cni.plugin is none: kubelab installs no CNI (and the API has no calico-node DaemonSet)"],
      fix: "install a CNI: kubelab leaves the pod network to you when addons.cni.plugin is none",
    };
  return {
    evidence: [
      "addons.cni.plugin is calico, but the API has no DaemonSet kube-system/calico-node: Calico is not installed",
    ],
    fix: "run kubelab up (it installs Calico)",
  };
}

/**
 * The node a daemon pod is for: spec.nodeName once scheduled; before that, the node the
 * DaemonSet controller pinned it to (a matchFields metadata.name term of its node affinity).
 */
function podNode(pod: unknown): string | undefined {
  const bound = str(pod, "spec", "nodeName");
  if (bound) return bound;
  const terms = objects(
    pod,
    "spec",
    "affinity",
    "nodeAffinity",
    "requiredDuringSchedulingIgnoredDuringExecution",
    "nodeSelectorTerms",
  );
  const field = terms
    .flatMap((t) => objects(t, "matchFields"))
    .find((f) => f.key === "metadata.name" && f.operator === "In");
  return strings(field, "values")[0];
}

/** The address of the `kubernetes` Service: the first of the service subnet. */
function apiServiceAddress(plan: Plan): string {
  const subnet = parseCidr(plan.kubernetes.serviceSubnet);
  return subnet ? `${formatIpv4(subnet.first + 1)}:443` : "its ClusterIP";
}

/** felix's health-endpoint line in the calico-node logs collected for `pod`, if any. */
function felixLine(e: Evidence, pod: unknown): string | undefined {
  const key = `${refOf(pod)}/${CALICO_NODE}`;
  for (const k of [key, `${key}#previous`]) {
    const hit = (e.api?.logs[k] ?? "").split("\n").find((l) => FELIX_HEALTH_LOCALHOST.test(l));
    if (hit) return `${k}: ${hit.trim()}`;
  }
  return undefined;
}

/** What to read about the container holding a calico-node pod back, and what it needs. */
function podFix(e: Evidence, plan: Plan, pod: unknown, node: string, held: ContainerReport): Cause {
  const logs = `kubectl -n ${namespaceOf(pod)} logs ${nameOf(pod)} -c ${held.name}`;
  const read = `read why with ${logs}${held.restarts > 0 ? " (add --previous for the run that ended)" : ""}`;
  if (held.init) {
    const api = API_INIT_CONTAINERS.includes(held.name)
      ? `; ${API_INIT_CONTAINERS.join(" and ")} reach the API server through the kubernetes Service (${apiServiceAddress(plan)}), so kube-proxy must be running on ${node}`
      : "";
    return {
      evidence: [],
      fix: `init container ${held.name} of calico-node on ${node} has not completed: ${read}${api}`,
    };
  }
  const fix = `${held.name} on ${node} is not ready: ${read}`;
  if (held.name !== CALICO_NODE) return { evidence: [], fix };
  const felix = felixLine(e, pod);
  if (felix)
    return {
      evidence: [felix],
      fix: `${fix}; felix cannot bind its health endpoint to the name localhost: see calico.felix-health-localhost`,
    };
  return {
    evidence: [],
    fix:
      held.restarts > 0
        ? `${fix}; if it says "Health endpoint failed ... lookup localhost", see calico.felix-health-localhost`
        : fix,
  };
}

/** A calico-node pod meant for `node` that is not Ready: its phase and every container. */
function podCause(e: Evidence, plan: Plan, pod: unknown, node: string): Cause {
  const ref = `Pod ${refOf(pod)}`;
  if (!str(pod, "spec", "nodeName")) {
    const scheduled = condition(pod, "PodScheduled");
    return {
      evidence: [`${ref} is for ${node} but not scheduled${scheduled ? `: ${describeCondition(scheduled)}` : ""}`],
      fix: `see why the scheduler has not placed it: kubectl -n ${namespaceOf(pod)} describe pod ${nameOf(pod)}`,
    };
  }
  const ready = condition(pod, "Ready");
  const reports = containerReports(pod);
  const head = `${ref} on ${node}: phase ${str(pod, "status", "phase") ?? "?"}${ready ? `, ${describeCondition(ready)}` : ""}`;
  const held = culprit(reports);
  const more = held ? podFix(e, plan, pod, node, held) : undefined;
  return {
    evidence: [head, ...reports.map((r) => r.line), ...(more?.evidence ?? [])],
    fix:
      more?.fix ??
      `calico-node on ${node} is not ready: kubectl -n ${namespaceOf(pod)} describe pod ${nameOf(pod)} shows its events`,
  };
}

/** No calico-node pod for `node`: the DaemonSet's counts, and what keeps its pods off the node. */
function noPodCause(node: unknown, ds: unknown): Cause {
  const name = nameOf(node);
  const count = (field: string) => num(ds, "status", field) ?? 0;
  const p = placement(node, ds);
  const evidence = [
    `no calico-node pod on ${name}; DaemonSet ${refOf(ds)}: desired ${count("desiredNumberScheduled")}, current ${count("currentNumberScheduled")}, ready ${count("numberReady")}, available ${count("numberAvailable")}`,
    `${name} taints: ${p.taints}`,
    `DaemonSet ${refOf(ds)} tolerations: ${p.tolerations}`,
    ...p.untolerated.map(
      (t) => `no toleration matches the taint ${t}: the DaemonSet controller makes no pod for ${name}`,
    ),
    ...p.unmatched.map((s) => `${name} lacks the label ${s} that the DaemonSet's nodeSelector asks for`),
  ];
  const fixes: string[] = [];
  if (p.untolerated.length > 0) {
    const removable = p.untolerated.filter((t) => !t.startsWith("node.kubernetes.io/"));
    fixes.push(
      `let calico-node tolerate ${p.untolerated.join(", ")} (upstream's manifest tolerates every NoSchedule and NoExecute taint; kubelab up --force-conflicts applies it again)${removable.length > 0 ? `, or remove the taint: ${removable.map((t) => `kubectl taint nodes ${name} ${t}-`).join("; ")}` : ""}`,
    );
  }
  if (p.unmatched.length > 0) fixes.push(`label the node: kubectl label node ${name} ${p.unmatched.join(" ")}`);
  if (fixes.length === 0)
    fixes.push(
      `nothing in ${name}'s taints or labels keeps calico-node off it: kubectl -n ${namespaceOf(ds)} describe ds ${nameOf(ds)} shows the DaemonSet controller's events`,
    );
  return { evidence, fix: fixes.join("; ") };
}

/** The calico-node causes for `node`: each of its pods that is not Ready, or that it has none. */
function calicoCauses(e: Evidence, plan: Plan, node: unknown): Cause[] {
  const ds = calicoDaemonSet(e);
  if (!ds) return [];
  const name = nameOf(node);
  const pods = items(e, API_KEYS.pod).filter((p) => isCalicoNodePod(p) && podNode(p) === name);
  if (pods.length === 0) return [noPodCause(node, ds)];
  const ready = pods.find(podReady);
  if (ready) return [{ evidence: [`Pod ${refOf(ready)} (calico-node) on ${name} is Ready`] }];
  return pods.map((p) => podCause(e, plan, p, name));
}

/** One node's finding. */
function nodeFinding(e: Evidence, plan: Plan, node: unknown): Finding {
  const subject = nameOf(node);
  const ready = condition(node, "Ready");
  if (!ready)
    return {
      verdict: "warn",
      subject,
      evidence: [
        "no Ready condition in status.conditions: the kubelet registered the node but has posted no status yet",
      ],
      fix: `wait for the kubelet's first status; if none comes, look at the kubelet on ${subject}: journalctl -u kubelet`,
    };
  const head = describeCondition(ready);
  if (ready.status === "True") return { verdict: "pass", subject, evidence: [head] };
  const causes: Cause[] = [];
  // Unknown: the node controller's verdict once the kubelet went silent; the pods' statuses
  // on that node are as stale as the node's, so only the kubelet and the CNI are named.
  if (ready.status === "Unknown")
    causes.push({
      evidence: [`last heartbeat ${str(ready, "lastHeartbeatTime") ?? "?"}`],
      fix: `the kubelet on ${subject} stopped posting its status: is the node running (kubelab status) and kubelet up (systemctl status kubelet, journalctl -u kubelet)?`,
    });
  const cni = noCni(e, plan);
  if (cni) causes.push(cni);
  else if (ready.status !== "Unknown") causes.push(...calicoCauses(e, plan, node));
  const fixes = causes.flatMap((c) => c.fix ?? []);
  return {
    verdict: "fail",
    subject,
    evidence: [head, ...causes.flatMap((c) => c.evidence)],
    fix:
      fixes.length > 0
        ? fixes.join("; ")
        : `the kubelet's message above says what it waits for; on ${subject}: journalctl -u kubelet`,
  };
}

/** node.ready: every Node's Ready condition, and why a node is not Ready. */
export const nodeReady: Check = {
  id: "node.ready",
  title: "every node is Ready (a NotReady node's missing or failing CNI is named)",
  needs: ["api"],
  references: ["kubernetes/kubernetes#43815", "https://kubernetes.io/docs/reference/node/node-status/#condition"],
  run: (e, plan) => items(e, API_KEYS.node).map((n) => nodeFinding(e, plan, n)),
};
