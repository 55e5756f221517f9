import assert from "node:assert/strict";
import { test } from "node:test";
import { Deployment } from "kubernetes-models/apps/v1";
import { ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { Service, ServiceAccount } from "kubernetes-models/v1";
import { defaultPlan, FIXTURES, readFixture } from "../../test/helpers/fixtures.js";
import type { Plan } from "../plan/types.js";
import { PINNED } from "../versions.js";
import { parseManifest } from "./manifests.js";
import { type KubeObject, MANAGED_BY } from "./types.js";
import { DASHBOARD, HEADLAMP, transformHeadlamp, UI_ADMIN, UI_SERVICE, uiAddress, uiObjects } from "./ui.js";

const headlampPlan = defaultPlan();
const dashboardPlan: Plan = {
  ...headlampPlan,
  addons: { ...headlampPlan.addons, ui: { kind: "dashboard", version: PINNED.dashboard.version, archived: true } },
};
const nonePlan: Plan = { ...headlampPlan, addons: { ...headlampPlan.addons, ui: { kind: "none" } } };

const headlampUpstream = parseManifest(readFixture(FIXTURES.headlamp));
const dashboardUpstream = parseManifest(readFixture(FIXTURES.dashboard));

interface Container {
  name: string;
  image: string;
  ports?: { containerPort: number; name?: string }[];
  env?: { name: string; value?: string }[];
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: { containers: Container[]; initContainers?: Container[] };
}

function find(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `no ${kind} ${name}`);
  return o;
}

function template(deployment: KubeObject): PodTemplate {
  return (deployment.spec as { template: PodTemplate }).template;
}

interface ServiceSpec {
  type: string;
  externalTrafficPolicy: string;
  selector: Record<string, string>;
  ports: { port: number; targetPort: number | string }[];
}

/** Checks the kubelab Service routes to the upstream Deployment's pods and container port. */
function assertServiceReaches(
  objects: readonly KubeObject[],
  upstream: readonly KubeObject[],
  deploymentName: string,
  namespace: string,
): void {
  const svc = find(objects, "Service", UI_SERVICE);
  const spec = svc.spec as ServiceSpec;
  const deployment = find(upstream, "Deployment", deploymentName);
  assert.equal(deployment.metadata.namespace, namespace);
  assert.equal(svc.metadata.namespace, namespace);
  const pod = template(deployment);
  for (const [k, v] of Object.entries(spec.selector)) {
    assert.equal(pod.metadata.labels[k], v, `selector ${k}=${v} does not match the pod template`);
  }
  assert.ok(Object.keys(spec.selector).length > 0);
  const containerPorts = pod.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.containerPort));
  for (const p of spec.ports)
    assert.ok(containerPorts.includes(p.targetPort as number), `targetPort ${p.targetPort} not in ${containerPorts}`);
}

for (const [label, plan, target, upstream, deploymentName] of [
  ["headlamp", headlampPlan, HEADLAMP, headlampUpstream, "headlamp"],
  ["dashboard", dashboardPlan, DASHBOARD, dashboardUpstream, "kubernetes-dashboard"],
] as const) {
  test(`${label}: SA, cluster-admin binding and LoadBalancer Service, all labelled`, () => {
    const objects = uiObjects(plan);
    assert.deepEqual(
      objects.map((o) => `${o.kind}/${o.metadata.name}`),
      [`ServiceAccount/${UI_ADMIN}`, `ClusterRoleBinding/${UI_ADMIN}`, `Service/${UI_SERVICE}`],
    );
    for (const o of objects) assert.deepEqual(o.metadata.labels, MANAGED_BY);
    assert.equal(find(objects, "ServiceAccount", UI_ADMIN).metadata.namespace, target.namespace);
    const crb = find(objects, "ClusterRoleBinding", UI_ADMIN);
    assert.equal(crb.metadata.namespace, undefined, "cluster-scoped");
    assert.deepEqual(crb.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "cluster-admin",
    });
    assert.deepEqual(crb.subjects, [{ kind: "ServiceAccount", name: UI_ADMIN, namespace: target.namespace }]);
    const spec = find(objects, "Service", UI_SERVICE).spec as ServiceSpec;
    assert.equal(spec.type, "LoadBalancer");
    // metallb#1777: Local + no endpoint on the announcing node = no answer.
    assert.equal(spec.externalTrafficPolicy, "Cluster");
    // No long-lived token: logins use TokenRequest.
    assert.ok(!objects.some((o) => o.kind === "Secret"));
  });

  test(`${label}: objects validate with kubernetes-models`, () => {
    const objects = uiObjects(plan);
    assert.doesNotThrow(() => new ServiceAccount(find(objects, "ServiceAccount", UI_ADMIN) as never).validate());
    assert.doesNotThrow(() =>
      new ClusterRoleBinding(find(objects, "ClusterRoleBinding", UI_ADMIN) as never).validate(),
    );
    assert.doesNotThrow(() => new Service(find(objects, "Service", UI_SERVICE) as never).validate());
  });

  test(`${label}: the Service selects the upstream Deployment's pods on its container port`, () => {
    assertServiceReaches(uiObjects(plan), upstream, deploymentName, target.namespace);
  });
}

test("headlamp: exact upstream pod labels and port (k8s-app: headlamp, 4466)", () => {
  const pod = template(find(headlampUpstream, "Deployment", "headlamp"));
  assert.deepEqual(pod.metadata.labels, { "k8s-app": "headlamp" });
  const spec = find(uiObjects(headlampPlan), "Service", UI_SERVICE).spec as ServiceSpec;
  assert.deepEqual(spec.selector, pod.metadata.labels);
  const http = pod.spec.containers.find((c) => c.name === "headlamp")?.ports?.find((p) => p.name === "http");
  assert.equal(http?.containerPort, 4466);
  assert.deepEqual(
    spec.ports.map((p) => [p.port, p.targetPort]),
    [[80, 4466]],
  );
});

test("dashboard: 443 -> 8443 with selector k8s-app: kubernetes-dashboard", () => {
  const spec = find(uiObjects(dashboardPlan), "Service", UI_SERVICE).spec as ServiceSpec;
  assert.deepEqual(spec.selector, { "k8s-app": "kubernetes-dashboard" });
  assert.deepEqual(
    spec.ports.map((p) => [p.port, p.targetPort]),
    [[443, 8443]],
  );
});

test("kubernetes-models validation bites: a Service port given as a string is rejected", () => {
  const svc = structuredClone(find(uiObjects(headlampPlan), "Service", UI_SERVICE)) as KubeObject;
  const ports = (svc.spec as { ports: { port: unknown }[] }).ports;
  (ports[0] as { port: unknown }).port = "80";
  assert.throws(() => new Service(svc as never).validate(), /port/);
  const crb = structuredClone(find(uiObjects(headlampPlan), "ClusterRoleBinding", UI_ADMIN)) as KubeObject & {
    roleRef: unknown;
  };
  crb.roleRef = { kind: "ClusterRole" };
  assert.throws(() => new ClusterRoleBinding(crb as never).validate(), /roleRef/);
});

test("ui: none renders nothing", () => {
  assert.deepEqual(uiObjects(nonePlan), []);
});

test("the pinned upstream file is the demo manifest (:latest, otel env, dangling token Secret)", () => {
  const text = readFixture(FIXTURES.headlamp);
  assert.match(text, /headlamp:latest/);
  assert.match(text, /otel-collector:4317/);
  assert.ok(headlampUpstream.some((o) => o.kind === "Secret" && o.metadata.name === "headlamp-admin"));
  assert.ok(!headlampUpstream.some((o) => o.kind === "ServiceAccount"), "upstream never creates headlamp-admin");
});

test("transformHeadlamp pins the image, drops telemetry env and the dangling token Secret", () => {
  const snapshot = structuredClone(headlampUpstream);
  const out = transformHeadlamp(headlampUpstream, headlampPlan);
  assert.deepEqual(headlampUpstream, snapshot, "input mutated");

  assert.ok(!out.some((o) => o.kind === "Secret"), "headlamp-admin token Secret must be gone");
  const deployment = find(out, "Deployment", "headlamp");
  const pod = template(deployment);
  const containers = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
  for (const c of containers) {
    assert.ok(!c.image.endsWith(":latest"), `${c.name} still on :latest`);
    assert.ok(c.image.includes(":"), `${c.name} image has no tag`);
    for (const e of c.env ?? []) {
      assert.ok(!/OTLP|TRACING|METRICS_ENABLED|SERVICE_(NAME|VERSION)/.test(e.name), `telemetry env ${e.name} left`);
      assert.ok(!String(e.value ?? "").includes("otel-collector"), `${e.name} still points at otel-collector`);
    }
  }
  assert.equal(pod.spec.containers.find((c) => c.name === "headlamp")?.image, PINNED.headlamp.image);
  const rendered = JSON.stringify(out);
  assert.ok(!rendered.includes(":latest"));
  assert.ok(!rendered.includes("otel-collector"));

  // Everything else is upstream's: the Service, args, ports, probes, nodeSelector.
  assert.deepEqual(find(out, "Service", "headlamp"), find(headlampUpstream, "Service", "headlamp"));
  const before = template(find(headlampUpstream, "Deployment", "headlamp")).spec.containers[0] as Container &
    Record<string, unknown>;
  const after = pod.spec.containers[0] as Container & Record<string, unknown>;
  const { image: _i1, env: _e1, ...restBefore } = before;
  const { image: _i2, env: _e2, ...restAfter } = after;
  assert.deepEqual(restAfter, restBefore);
  assert.doesNotThrow(() => new Deployment(deployment as never).validate());
});

test("transformHeadlamp refuses other UIs and manifests without the headlamp Deployment", () => {
  assert.throws(() => transformHeadlamp(headlampUpstream, dashboardPlan), /not headlamp/);
  assert.throws(
    () =>
      transformHeadlamp(
        headlampUpstream.filter((o) => o.kind !== "Deployment"),
        headlampPlan,
      ),
    /no Deployment headlamp/,
  );
});

test("the UI Service asks MetalLB for the first address of the first pool; none without MetalLB", () => {
  const svc = find(uiObjects(headlampPlan), "Service", UI_SERVICE) as KubeObject;
  assert.deepEqual(svc.metadata.annotations, { "metallb.io/loadBalancerIPs": "192.168.56.46" });
  assert.equal(uiAddress(headlampPlan), "192.168.56.46");
  const cidrPool: Plan = {
    ...headlampPlan,
    addons: { ...headlampPlan.addons, metallb: { enabled: true, version: "v0.16.1", pools: ["192.168.56.64/28"] } },
  };
  assert.equal(uiAddress(cidrPool), "192.168.56.64");
  const none: Plan = { ...headlampPlan, addons: { ...headlampPlan.addons, metallb: { enabled: false } } };
  assert.equal((find(uiObjects(none), "Service", UI_SERVICE) as KubeObject).metadata.annotations, undefined);
});
