// linkerd.control-plane and linkerd.injection on hand-made evidence in the shapes the API
// serves (test/helpers/linkerd-objects.ts): Linkerd missing, a control plane held back in the
// ways it is, pods left without a proxy; and each passing once fixed. The same on a real API
// server is linkerd.int.test.ts's.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checkApi,
  controlPlaneDeployment,
  controlPlanePod,
  controlPlanePodStatus,
  deploymentStatus,
  kubeNamespace,
  NO_LINKERD_FILE,
  NS,
  type PodState,
  type ProxyPlacement,
  runningStatus,
  withStatus,
  workloadPod,
} from "../../../test/helpers/linkerd-objects.js";
import { API_KEYS } from "../api.js";
import type { CheckResult, Finding } from "../types.js";

type Obj = Record<string, unknown>;

const CONTROL_PLANE = ["linkerd-identity", "linkerd-destination", "linkerd-proxy-injector"];

function about(r: CheckResult, subject: string): Finding {
  const f = r.findings.find((x) => x.subject === subject);
  assert.ok(f, `no finding about ${subject} in ${JSON.stringify(r.findings, null, 2)}`);
  return f;
}

/** The control plane with each Deployment's pod in the given state (`available` when ready). */
function controlPlane(states: Record<string, PodState>): { deployments: Obj[]; pods: Obj[] } {
  const deployments = CONTROL_PLANE.map((d) =>
    withStatus(controlPlaneDeployment(d), deploymentStatus(1, states[d] === "ready" ? 1 : 0)),
  );
  const pods = CONTROL_PLANE.map((d) =>
    withStatus(
      controlPlanePod(d, `${d}-6f9b8c7d4-x2x7q`, states[d] === "unschedulable" ? undefined : "worker-1"),
      controlPlanePodStatus(d, states[d] ?? "ready"),
    ),
  );
  return { deployments, pods };
}

const ALL_READY: Record<string, PodState> = {
  "linkerd-identity": "ready",
  "linkerd-destination": "ready",
  "linkerd-proxy-injector": "ready",
};

function controlPlaneCheck(o: { namespaces?: Obj[]; deployments?: Obj[]; pods?: Obj[] }): CheckResult {
  return checkApi("linkerd.control-plane", {
    [API_KEYS.namespace]: o.namespaces ?? [kubeNamespace("kube-system"), kubeNamespace(NS)],
    [API_KEYS.deployment]: o.deployments ?? [],
    [API_KEYS.pod]: o.pods ?? [],
  });
}

test("linkerd.control-plane: no linkerd namespace fails with kubelab up; without Linkerd in the plan it does not apply", () => {
  const r = controlPlaneCheck({ namespaces: [kubeNamespace("kube-system")] });
  assert.equal(r.verdict, "fail");
  assert.deepEqual(r.findings, [
    {
      verdict: "fail",
      subject: "Namespace linkerd",
      evidence: ["no Namespace linkerd: Linkerd is not installed"],
      fix: "run kubelab up: it installs Linkerd's control plane",
    },
  ]);
  const off = checkApi("linkerd.control-plane", {}, { file: NO_LINKERD_FILE });
  assert.equal(off.verdict, "skip");
  assert.equal(off.skipped, "does not apply to this cluster");
});

test("linkerd.control-plane: the namespace without the Deployments: each one missing fails", () => {
  const r = controlPlaneCheck({});
  assert.equal(r.verdict, "fail");
  for (const d of CONTROL_PLANE)
    assert.deepEqual(about(r, `Deployment linkerd/${d}`), {
      verdict: "fail",
      subject: `Deployment linkerd/${d}`,
      evidence: [`no Deployment linkerd/${d}`],
      fix: "run kubelab up: it installs Linkerd's control plane",
    });
});

test("linkerd.control-plane: identity crash-looping holds the others' proxies: every unready pod named, identity first", () => {
  const r = controlPlaneCheck(
    controlPlane({
      "linkerd-identity": "crashloop",
      "linkerd-destination": "proxy-waiting",
      "linkerd-proxy-injector": "ready",
    }),
  );
  assert.equal(r.verdict, "fail");
  assert.deepEqual(about(r, "Deployment linkerd/linkerd-identity"), {
    verdict: "fail",
    subject: "Deployment linkerd/linkerd-identity",
    evidence: [
      "Deployment linkerd/linkerd-identity: 0 of 1 available",
      "Available=False since 2026-12-08T10:02:11Z: MinimumReplicasUnavailable: Deployment does not have minimum availability.",
      "Pod linkerd/linkerd-identity-6f9b8c7d4-x2x7q on worker-1: phase Running, Ready=False since 2026-12-08T10:02:11Z: ContainersNotReady: containers with unready status: [identity]",
      "  container identity: ready=false, restartCount 6, waiting: CrashLoopBackOff (back-off 5m0s restarting failed container=identity pod=identity), last terminated: Error (exit 1) at 2026-12-08T10:02:11Z",
    ],
    fix: "read why: kubectl -n linkerd logs linkerd-identity-6f9b8c7d4-x2x7q -c identity --previous",
  });
  const destination = about(r, "Deployment linkerd/linkerd-destination");
  assert.equal(destination.verdict, "fail");
  assert.deepEqual(destination.evidence.slice(2), [
    "Pod linkerd/linkerd-destination-6f9b8c7d4-x2x7q on worker-1: phase Running, Ready=False since 2026-12-08T10:02:11Z: ContainersNotReady: containers with unready status: [destination]",
    "  init container linkerd-proxy: ready=false, restartCount 0, running since 2026-12-08T10:02:11Z",
    "  container destination: ready=false, restartCount 0, running since 2026-12-08T10:02:11Z",
  ]);
  assert.equal(
    destination.fix,
    "get linkerd-identity available first (this one's proxy waits for a certificate from it); read why: kubectl -n linkerd logs linkerd-destination-6f9b8c7d4-x2x7q -c linkerd-proxy",
  );
  assert.deepEqual(about(r, "Deployment linkerd/linkerd-proxy-injector"), {
    verdict: "pass",
    subject: "Deployment linkerd/linkerd-proxy-injector",
    evidence: ["Deployment linkerd/linkerd-proxy-injector: 1 of 1 available"],
  });
});

test("linkerd.control-plane: a pod the scheduler cannot place, and a Deployment scaled to 0", () => {
  const { deployments, pods } = controlPlane({ ...ALL_READY, "linkerd-destination": "unschedulable" });
  const scaled = deployments.map((d) =>
    (d.metadata as Obj).name === "linkerd-proxy-injector"
      ? { ...d, spec: { ...(d.spec as Obj), replicas: 0 }, status: deploymentStatus(0, 0) }
      : d,
  );
  const r = controlPlaneCheck({ deployments: scaled, pods });
  const destination = about(r, "Deployment linkerd/linkerd-destination");
  assert.deepEqual(destination.evidence.slice(2), [
    "Pod linkerd/linkerd-destination-6f9b8c7d4-x2x7q (not scheduled): phase Pending, PodScheduled=False since 2026-12-08T10:02:11Z: Unschedulable: 0/3 nodes are available: 3 Insufficient memory.",
  ]);
  assert.equal(destination.fix, "read its events: kubectl -n linkerd describe pod linkerd-destination-6f9b8c7d4-x2x7q");
  assert.deepEqual(about(r, "Deployment linkerd/linkerd-proxy-injector"), {
    verdict: "fail",
    subject: "Deployment linkerd/linkerd-proxy-injector",
    evidence: ["Deployment linkerd/linkerd-proxy-injector: 0 of 0 available", "spec.replicas is 0: scaled down"],
    fix: "kubectl -n linkerd scale deploy linkerd-proxy-injector --replicas=1, or run kubelab up (it applies the chart's replicas)",
  });
});

test("linkerd.control-plane: every Deployment available passes", () => {
  const r = controlPlaneCheck(controlPlane(ALL_READY));
  assert.equal(r.verdict, "pass");
  assert.deepEqual(
    r.findings.map((f) => f.evidence),
    CONTROL_PLANE.map((d) => [`Deployment linkerd/${d}: 1 of 1 available`]),
  );
});

const pod = (
  name: string,
  proxy: ProxyPlacement,
  o: { deployment?: string; annotations?: Record<string, string> } = {},
) => withStatus(workloadPod({ namespace: "demo", name, proxy, ...o }), runningStatus);

function injectionCheck(namespaces: Obj[], pods: Obj[]): CheckResult {
  return checkApi("linkerd.injection", { [API_KEYS.namespace]: namespaces, [API_KEYS.pod]: pods });
}

test("linkerd.injection: no namespace asks for injection: passes saying so; without Linkerd it does not apply", () => {
  const r = injectionCheck([kubeNamespace("demo"), kubeNamespace(NS)], [pod("web", "none")]);
  assert.deepEqual(r.findings, [
    { verdict: "pass", evidence: ["no Namespace is annotated linkerd.io/inject: enabled: nothing asks for a proxy"] },
  ]);
  assert.equal(checkApi("linkerd.injection", {}, { file: NO_LINKERD_FILE }).verdict, "skip");
});

test("linkerd.injection: pods started before injection fail, named with the restart; opted-out, host-network, finished and other namespaces' pods do not count", () => {
  const finished = {
    ...workloadPod({ namespace: "demo", name: "migrate-x7k2p", proxy: "none" }),
    status: { phase: "Succeeded" },
  };
  const elsewhere = withStatus(workloadPod({ namespace: "other", name: "plain", proxy: "none" }), runningStatus);
  // An init container named linkerd-proxy that does not restart is not a sidecar: it ran and ended.
  const ended = withStatus(
    {
      ...workloadPod({ namespace: "demo", name: "odd", proxy: "none" }),
      spec: {
        automountServiceAccountToken: false,
        initContainers: [{ name: "linkerd-proxy", image: "busybox" }],
        containers: [{ name: "app", image: "busybox" }],
      },
    },
    runningStatus,
  );
  // The injector never injects a host-network pod.
  const plain = workloadPod({ namespace: "demo", name: "node-agent", proxy: "none" });
  const host = withStatus({ ...plain, spec: { ...(plain.spec as Obj), hostNetwork: true } }, runningStatus);
  const r = injectionCheck(
    [kubeNamespace("demo", true), kubeNamespace("other")],
    [
      pod("web-6d4cf56db6-2kq9z", "native sidecar", { deployment: "web" }),
      pod("web-6d4cf56db6-8hx4t", "none", { deployment: "web" }),
      pod("api-6d4cf56db6-n5d2w", "none", { deployment: "api" }),
      pod("legacy", "container"),
      pod("solo", "none"),
      pod("debug", "none", { annotations: { "linkerd.io/inject": "disabled" } }),
      finished,
      elsewhere,
      ended,
      host,
    ],
  );
  assert.equal(r.verdict, "fail");
  assert.deepEqual(r.findings, [
    {
      verdict: "fail",
      subject: "Namespace demo",
      evidence: [
        "annotated linkerd.io/inject: enabled; 6 running pods, 4 without linkerd-proxy:",
        "Pod demo/web-6d4cf56db6-8hx4t has no linkerd-proxy: containers app",
        "Pod demo/api-6d4cf56db6-n5d2w has no linkerd-proxy: containers app",
        "Pod demo/solo has no linkerd-proxy: containers app",
        "Pod demo/odd has no linkerd-proxy: containers app",
      ],
      fix: "restart them (kubectl -n demo rollout restart deploy/web deploy/api; delete and create again pod demo/solo, pod demo/odd): pods created before the namespace asked for injection, or while the injector was down, have no proxy",
    },
  ]);
});

test("linkerd.injection: every running pod with a proxy, as a container or a native sidecar, passes", () => {
  const r = injectionCheck(
    [kubeNamespace("demo", true)],
    [
      pod("web-6d4cf56db6-2kq9z", "native sidecar", { deployment: "web" }),
      pod("web-6d4cf56db6-9vbl4", "native sidecar", { deployment: "web" }),
      pod("legacy", "container"),
      pod("debug", "none", { annotations: { "linkerd.io/inject": "disabled" } }),
    ],
  );
  assert.deepEqual(r.findings, [
    {
      verdict: "pass",
      subject: "Namespace demo",
      evidence: [
        "annotated linkerd.io/inject: enabled; 3 running pods, each with linkerd-proxy (2 as a native sidecar)",
      ],
    },
  ]);
});
