// node.ready on the default lab's Nodes, calico-node pods and DaemonSet in the shape the API
// returns them (test/helpers/not-ready-nodes.ts): right after kubeadm with no CNI, with
// `addons.cni.plugin: none`, with Calico applied but failing on a node in the ways it does, and
// once every node is Ready. A real cluster before and after Calico is the integration tier's.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import {
  calicoDaemonSet,
  calicoPods,
  NO_CNI_MESSAGE,
  type NodeState,
  node,
} from "../../../test/helpers/not-ready-nodes.js";
import { DEFAULT_CLUSTER_YAML } from "../../config/default-cluster.js";
import { API_KEYS } from "../api.js";
import { redact } from "../dump.js";
import { formatResults, runChecks } from "../run.js";
import type { CheckResult, Evidence, Finding } from "../types.js";
import { CHECKS } from "./index.js";

const FILE = parse(DEFAULT_CLUSTER_YAML) as { addons: { cni: Record<string, unknown> } };
const NO_CNI_FILE = { ...FILE, addons: { ...FILE.addons, cni: { plugin: "none" } } };

const NOT_READY = `Ready=False since 2026-12-08T09:16:27Z: KubeletNotReady: ${NO_CNI_MESSAGE}`;
const MASTER_NOT_READY = `Ready=False since 2026-12-08T09:14:03Z: KubeletNotReady: ${NO_CNI_MESSAGE}`;
const READY = "Ready=True since 2026-12-08T09:43:01Z: KubeletReady: kubelet is posting ready status";

const FELIX_LINE =
  "2026-12-08 09:51:01.812 [ERROR][71] felix/health.go 360: Health endpoint failed, trying to restart it... error=listen tcp: lookup localhost on 8.8.8.8:53: no such host";

/** The default lab's three nodes in the given states. */
const lab = (master: NodeState, worker1: NodeState, worker2: NodeState) => [
  node("master-1", master),
  node("worker-1", worker1),
  node("worker-2", worker2),
];

/** API evidence holding these objects, and node.ready's result on it (the whole check list run, as doctor does). */
function check(o: {
  nodes: unknown[];
  pods?: unknown[];
  daemonSets?: unknown[];
  logs?: Record<string, string>;
  file?: unknown;
}): CheckResult {
  const evidence: Evidence = {
    format: "kubelab.dev/doctor-evidence/v1",
    collectedAt: "2026-12-08T09:52:00Z",
    file: o.file ?? FILE,
    api: {
      objects: {
        [API_KEYS.node]: o.nodes as Record<string, unknown>[],
        [API_KEYS.pod]: (o.pods ?? []) as Record<string, unknown>[],
        [API_KEYS.daemonSet]: (o.daemonSets ?? []) as Record<string, unknown>[],
      },
      logs: o.logs ?? {},
    },
    unavailable: {},
  };
  const [result] = runChecks(evidence, CHECKS, ["node.ready"]);
  assert.ok(result);
  return result;
}

function about(r: CheckResult, subject: string): Finding {
  const f = r.findings.find((x) => x.subject === subject);
  assert.ok(f, `no finding about ${subject} in ${JSON.stringify(r.findings, null, 2)}`);
  return f;
}

test("node.ready: no CNI yet (addons.cni.plugin calico, Calico not applied): every node fails, kubelet's message quoted", () => {
  const r = check({ nodes: lab("no-cni", "no-cni", "no-cni") });
  assert.equal(r.verdict, "fail");
  assert.deepEqual(about(r, "master-1"), {
    verdict: "fail",
    subject: "master-1",
    evidence: [
      MASTER_NOT_READY,
      "addons.cni.plugin is calico, but the API has no DaemonSet kube-system/calico-node: Calico is not installed",
    ],
    fix: "run kubelab up (it installs Calico)",
  });
  for (const w of ["worker-1", "worker-2"])
    assert.deepEqual(about(r, w).evidence, [
      NOT_READY,
      "addons.cni.plugin is calico, but the API has no DaemonSet kube-system/calico-node: Calico is not installed",
    ]);
  // What used to say "0 failed" for this cluster.
  const printed = formatResults([r]);
  assert.match(printed, /^✗ node\.ready /m);
  assert.match(printed, /^1 failed, /m);
});

test("node.ready: addons.cni.plugin none: the pod network is the user's to install", () => {
  const r = check({ nodes: lab("no-cni", "no-cni", "no-cni"), file: NO_CNI_FILE });
  assert.deepEqual(about(r, "worker-1"), {
    verdict: "fail",
    subject: "worker-1",
    evidence: [
      NOT_READY,
      "addons.cni.plugin is none: kubelab installs no CNI (and the API has no calico-node DaemonSet)",
    ],
    fix: "install a CNI: kubelab leaves the pod network to you when addons.cni.plugin is none",
  });
});

test("node.ready: install-cni crash-looping on a node: every container quoted, its log and kube-proxy named", () => {
  const r = check({
    nodes: lab("ready", "no-cni", "ready"),
    pods: calicoPods("ready", "install-cni-crashloop", "ready"),
    daemonSets: [calicoDaemonSet({ desired: 3, current: 3, ready: 2 })],
  });
  assert.equal(r.verdict, "fail");
  assert.deepEqual(about(r, "worker-1"), {
    verdict: "fail",
    subject: "worker-1",
    evidence: [
      NOT_READY,
      "Pod kube-system/calico-node-8dxkq on worker-1: phase Pending, Ready=False since 2026-12-08T09:42:08Z: ContainersNotReady: containers with unready status: [calico-node]",
      "init container upgrade-ipam: ready=true, restartCount 0, terminated: Completed (exit 0)",
      "init container install-cni: ready=false, restartCount 5, waiting: CrashLoopBackOff (back-off 2m40s restarting failed container=install-cni pod=calico-node-8dxkq_kube-system(5e7a9c1d-3f5b-47d9-b1e3-a5c7e9f1b3d5)), last terminated: Error (exit 1) at 2026-12-08T09:47:39Z",
      "init container ebpf-bootstrap: ready=false, restartCount 0, waiting: PodInitializing",
      "container calico-node: ready=false, restartCount 0, waiting: PodInitializing",
    ],
    fix: "init container install-cni of calico-node on worker-1 has not completed: read why with kubectl -n kube-system logs calico-node-8dxkq -c install-cni (add --previous for the run that ended); upgrade-ipam and install-cni reach the API server through the kubernetes Service (10.96.0.1:443), so kube-proxy must be running on worker-1",
  });
  assert.deepEqual(about(r, "master-1"), { verdict: "pass", subject: "master-1", evidence: [READY] });
});

test("node.ready: calico-node running but not ready, restarted: felix's health check named when its log says so", () => {
  const objects = {
    nodes: lab("ready", "ready", "no-cni"),
    pods: calicoPods("ready", "ready", "running-not-ready"),
    daemonSets: [calicoDaemonSet({ desired: 3, current: 3, ready: 2 })],
  };
  const head = [
    NOT_READY,
    "Pod kube-system/calico-node-q4w9r on worker-2: phase Running, Ready=False since 2026-12-08T09:42:19Z: ContainersNotReady: containers with unready status: [calico-node]",
    "init container upgrade-ipam: ready=true, restartCount 0, terminated: Completed (exit 0)",
    "init container install-cni: ready=true, restartCount 0, terminated: Completed (exit 0)",
    "init container ebpf-bootstrap: ready=true, restartCount 0, terminated: Completed (exit 0)",
    "container calico-node: ready=false, restartCount 4, running since 2026-12-08T09:51:03Z, last terminated: Error (exit 1) at 2026-12-08T09:51:02Z",
  ];
  const read =
    "calico-node on worker-2 is not ready: read why with kubectl -n kube-system logs calico-node-q4w9r -c calico-node (add --previous for the run that ended)";

  // No log collected (the kubelet could not serve it): the related check is named as a possibility.
  assert.deepEqual(about(check(objects), "worker-2"), {
    verdict: "fail",
    subject: "worker-2",
    evidence: head,
    fix: `${read}; if it says "Health endpoint failed ... lookup localhost", see calico.felix-health-localhost`,
  });

  // The previous run's log has felix's line: quoted, and the related check named as the cause.
  const logs = { "kube-system/calico-node-q4w9r/calico-node#previous": `${FELIX_LINE}\n` };
  assert.deepEqual(about(check({ ...objects, logs }), "worker-2"), {
    verdict: "fail",
    subject: "worker-2",
    evidence: [...head, `kube-system/calico-node-q4w9r/calico-node#previous: ${FELIX_LINE}`],
    fix: `${read}; felix cannot bind its health endpoint to the name localhost: see calico.felix-health-localhost`,
  });
});

test("node.ready: no calico-node pod on a node: the DaemonSet's counts, the taints against its tolerations", () => {
  // Upstream's tolerations: nothing on the node keeps the pod off; the DaemonSet's events will say why.
  const upstream = check({
    nodes: lab("ready", "ready", "no-cni"),
    pods: calicoPods("ready", "ready", undefined),
    daemonSets: [calicoDaemonSet({ desired: 3, current: 2, ready: 2 })],
  });
  assert.deepEqual(about(upstream, "worker-2"), {
    verdict: "fail",
    subject: "worker-2",
    evidence: [
      NOT_READY,
      "no calico-node pod on worker-2; DaemonSet kube-system/calico-node: desired 3, current 2, ready 2, available 2",
      "worker-2 taints: node.kubernetes.io/not-ready:NoSchedule, node.kubernetes.io/not-ready:NoExecute",
      "DaemonSet kube-system/calico-node tolerations: :NoSchedule op=Exists, CriticalAddonsOnly op=Exists, :NoExecute op=Exists",
    ],
    fix: "nothing in worker-2's taints or labels keeps calico-node off it: kubectl -n kube-system describe ds calico-node shows the DaemonSet controller's events",
  });

  // Tolerations cut down to CriticalAddonsOnly: the not-ready taint (which the DaemonSet
  // controller does not tolerate for its pods) keeps calico-node off every NotReady node.
  const narrowed = check({
    nodes: lab("no-cni", "no-cni", "no-cni"),
    daemonSets: [
      calicoDaemonSet({
        desired: 0,
        current: 0,
        ready: 0,
        tolerations: [{ key: "CriticalAddonsOnly", operator: "Exists" }],
      }),
    ],
  });
  assert.deepEqual(about(narrowed, "master-1"), {
    verdict: "fail",
    subject: "master-1",
    evidence: [
      MASTER_NOT_READY,
      "no calico-node pod on master-1; DaemonSet kube-system/calico-node: desired 0, current 0, ready 0, available 0",
      "master-1 taints: node-role.kubernetes.io/control-plane:NoSchedule, node.kubernetes.io/not-ready:NoSchedule, node.kubernetes.io/not-ready:NoExecute",
      "DaemonSet kube-system/calico-node tolerations: CriticalAddonsOnly op=Exists",
      "no toleration matches the taint node-role.kubernetes.io/control-plane:NoSchedule: the DaemonSet controller makes no pod for master-1",
      "no toleration matches the taint node.kubernetes.io/not-ready:NoSchedule: the DaemonSet controller makes no pod for master-1",
    ],
    fix: "let calico-node tolerate node-role.kubernetes.io/control-plane:NoSchedule, node.kubernetes.io/not-ready:NoSchedule (upstream's manifest tolerates every NoSchedule and NoExecute taint; kubelab up --force-conflicts applies it again), or remove the taint: kubectl taint nodes master-1 node-role.kubernetes.io/control-plane:NoSchedule-",
  });
  assert.equal(
    about(narrowed, "worker-1").fix,
    "let calico-node tolerate node.kubernetes.io/not-ready:NoSchedule (upstream's manifest tolerates every NoSchedule and NoExecute taint; kubelab up --force-conflicts applies it again)",
  );
});

test("node.ready: a calico-node pod made for the node but not scheduled quotes the scheduler", () => {
  const r = check({
    nodes: lab("ready", "no-cni", "ready"),
    pods: calicoPods(undefined, "unscheduled", undefined),
    daemonSets: [calicoDaemonSet({ desired: 3, current: 3, ready: 2 })],
  });
  assert.deepEqual(about(r, "worker-1").evidence, [
    NOT_READY,
    "Pod kube-system/calico-node-8dxkq is for worker-1 but not scheduled: PodScheduled=False since 2026-12-08T09:42:08Z: Unschedulable: 0/3 nodes are available: 1 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
  ]);
  assert.equal(
    about(r, "worker-1").fix,
    "see why the scheduler has not placed it: kubectl -n kube-system describe pod calico-node-8dxkq",
  );
});

test("node.ready: a silent kubelet (Unknown) fails on the kubelet; a node without a Ready condition warns", () => {
  const r = check({
    nodes: lab("ready", "unknown", "registered"),
    pods: calicoPods("ready", "ready", undefined),
    daemonSets: [calicoDaemonSet({ desired: 3, current: 2, ready: 2 })],
  });
  assert.deepEqual(about(r, "worker-1"), {
    verdict: "fail",
    subject: "worker-1",
    evidence: [
      "Ready=Unknown since 2026-12-08T09:39:36Z: NodeStatusUnknown: Kubelet stopped posting node status.",
      "last heartbeat 2026-12-08T09:38:51Z",
    ],
    fix: "the kubelet on worker-1 stopped posting its status: is the node running (kubelab status) and kubelet up (systemctl status kubelet, journalctl -u kubelet)?",
  });
  assert.deepEqual(about(r, "worker-2"), {
    verdict: "warn",
    subject: "worker-2",
    evidence: ["no Ready condition in status.conditions: the kubelet registered the node but has posted no status yet"],
    fix: "wait for the kubelet's first status; if none comes, look at the kubelet on worker-2: journalctl -u kubelet",
  });
});

test("node.ready: calico-node Ready on a NotReady node names no CNI cause and points at the kubelet", () => {
  const r = check({
    nodes: lab("ready", "no-cni", "ready"),
    pods: calicoPods(undefined, "ready", undefined),
    daemonSets: [calicoDaemonSet({ desired: 3, current: 3, ready: 3 })],
  });
  assert.deepEqual(about(r, "worker-1"), {
    verdict: "fail",
    subject: "worker-1",
    evidence: [NOT_READY, "Pod kube-system/calico-node-8dxkq (calico-node) on worker-1 is Ready"],
    fix: "the kubelet's message above says what it waits for; on worker-1: journalctl -u kubelet",
  });
});

test("node.ready: every node Ready passes, one finding per node", () => {
  const r = check({
    nodes: lab("ready", "ready", "ready"),
    pods: calicoPods("ready", "ready", "ready"),
    daemonSets: [calicoDaemonSet({ desired: 3, current: 3, ready: 3 })],
  });
  assert.equal(r.verdict, "pass");
  assert.deepEqual(
    r.findings.map((f) => [f.subject, f.verdict, f.evidence]),
    ["master-1", "worker-1", "worker-2"].map((n) => [n, "pass", [READY]]),
  );
  // No Node in the API at all: nothing to say (api.node-addresses names the plan's missing nodes).
  assert.equal(check({ nodes: [] }).verdict, "skip");
});

test("node.ready: a saved dump keeps every field it reads (conditions, taints, init container statuses, DaemonSet counts)", () => {
  const objects = {
    nodes: lab("ready", "no-cni", "no-cni"),
    pods: calicoPods("ready", "install-cni-crashloop", "running-not-ready"),
    daemonSets: [calicoDaemonSet({ desired: 3, current: 3, ready: 1 })],
  };
  // `kubelab doctor dump` writes the evidence through redact; `--from` must give the same verdicts.
  assert.deepEqual(redact(objects), objects);
  assert.deepEqual(check(redact(objects)), check(objects));
});
