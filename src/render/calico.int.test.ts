import assert from "node:assert/strict";
import { test } from "node:test";
import { DaemonSet } from "kubernetes-models/apps/v1";
import { defaultPlan, FIXTURES, readFixture } from "../../test/helpers/fixtures.js";
import type { CalicoEncapsulation, Plan } from "../plan/types.js";
import { CALICO_CONFIG, CALICO_NODE, calicoNodeEnv, type EnvVar, transformCalico } from "./calico.js";
import { parseManifest } from "./manifests.js";
import type { KubeObject } from "./types.js";

const plan = defaultPlan();
const upstream = parseManifest(readFixture(FIXTURES.calico));
const snapshot = structuredClone(upstream);

function names(env: readonly EnvVar[]): string[] {
  return env.map((e) => e.name);
}

function only(env: readonly EnvVar[], name: string): EnvVar {
  const found = env.filter((e) => e.name === name);
  assert.equal(found.length, 1, `${name} must appear exactly once, found ${found.length}`);
  return found[0] as EnvVar;
}

function isCalicoNode(o: KubeObject): boolean {
  return o.kind === "DaemonSet" && o.metadata.name === CALICO_NODE;
}

test("fixture is what the transform expects: no IP_AUTODETECTION_METHOD, no CALICO_IPV4POOL_CIDR, no FELIX_HEALTHHOST", () => {
  const env = names(calicoNodeEnv(upstream));
  assert.ok(env.includes("FELIX_HEALTHENABLED"));
  for (const absent of ["IP_AUTODETECTION_METHOD", "CALICO_IPV4POOL_CIDR", "FELIX_HEALTHHOST", "NODEIP"]) {
    assert.ok(!env.includes(absent), `upstream unexpectedly sets ${absent}`);
  }
});

test("renders the known fixes into calico-node's env", () => {
  const env = calicoNodeEnv(transformCalico(upstream, plan));
  // Failure 3 (calico#6963): an address, not the name localhost.
  assert.deepEqual(only(env, "FELIX_HEALTHHOST"), { name: "FELIX_HEALTHHOST", value: "127.0.0.1" });
  // Failure 2: the plan's method (default can-reach=$(NODEIP)), NODEIP from the node's address.
  assert.equal(plan.addons.cni.plugin, "calico");
  assert.deepEqual(only(env, "IP_AUTODETECTION_METHOD"), {
    name: "IP_AUTODETECTION_METHOD",
    value: "can-reach=$(NODEIP)",
  });
  assert.deepEqual(only(env, "NODEIP"), { name: "NODEIP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } });
  assert.deepEqual(only(env, "CALICO_IPV4POOL_CIDR"), { name: "CALICO_IPV4POOL_CIDR", value: "192.168.112.0/20" });
  assert.equal(only(env, "CALICO_IPV4POOL_CIDR").value, plan.kubernetes.podSubnet);
});

test("NODEIP comes before IP_AUTODETECTION_METHOD ($(VAR) only expands earlier variables)", () => {
  const env = names(calicoNodeEnv(transformCalico(upstream, plan)));
  assert.equal(env.indexOf("NODEIP") + 1, env.indexOf("IP_AUTODETECTION_METHOD"));
});

test("upstream's own variables keep their values and order", () => {
  const before = calicoNodeEnv(upstream);
  const after = calicoNodeEnv(transformCalico(upstream, plan));
  assert.deepEqual(
    after.filter((e) => before.some((b) => b.name === e.name)),
    before,
  );
});

test("only the calico-node DaemonSet changes; the input is not mutated", () => {
  const out = transformCalico(upstream, plan);
  assert.equal(out.length, upstream.length);
  assert.deepEqual(upstream, snapshot, "input mutated");
  let changed = 0;
  out.forEach((o, i) => {
    if (isCalicoNode(o)) {
      changed++;
      assert.notDeepEqual(o, upstream[i]);
      assert.notEqual(o, upstream[i]);
    } else {
      assert.deepEqual(o, upstream[i], `${o.kind}/${o.metadata.name} changed`);
    }
  });
  assert.equal(changed, 1);
});

test("existing settings are replaced in place, duplicates dropped, a late NODEIP moved up", () => {
  // A manifest where upstream already sets some of the variables, in awkward places.
  const doctored = structuredClone(upstream);
  const ds = doctored.find(isCalicoNode) as KubeObject;
  const container = (
    ds.spec as { template: { spec: { containers: { name: string; env: EnvVar[] }[] } } }
  ).template.spec.containers.find((c) => c.name === CALICO_NODE);
  assert.ok(container);
  container.env.splice(
    2,
    0,
    { name: "IP_AUTODETECTION_METHOD", value: "first-found" },
    { name: "FELIX_HEALTHHOST", value: "localhost" },
  );
  container.env.push({ name: "NODEIP", value: "10.0.2.15" }, { name: "FELIX_HEALTHHOST", value: "localhost" });
  const env = calicoNodeEnv(transformCalico(doctored, plan));
  const n = names(env);
  // upstream order was DATASTORE_TYPE, WAIT_FOR_DATASTORE, <IP_AUTODETECTION_METHOD, FELIX_HEALTHHOST>, NODENAME...
  assert.deepEqual(n.slice(0, 6), [
    "DATASTORE_TYPE",
    "WAIT_FOR_DATASTORE",
    "NODEIP",
    "IP_AUTODETECTION_METHOD",
    "FELIX_HEALTHHOST",
    "NODENAME",
  ]);
  assert.equal(only(env, "FELIX_HEALTHHOST").value, "127.0.0.1");
  assert.equal(only(env, "IP_AUTODETECTION_METHOD").value, "can-reach=$(NODEIP)");
  assert.equal(n.at(-1), "CALICO_IPV4POOL_CIDR", "absent variables are appended");
  assert.deepEqual(only(env, "NODEIP").valueFrom, { fieldRef: { fieldPath: "status.hostIP" } });
});

test("uses the plan's autodetection method and pod subnet", () => {
  const cni = plan.addons.cni;
  assert.equal(cni.plugin, "calico");
  const other: Plan = {
    ...plan,
    kubernetes: { ...plan.kubernetes, podSubnet: "10.244.0.0/16" },
    addons: { ...plan.addons, cni: { ...cni, ipAutodetectionMethod: "cidrs=192.168.56.0/24" } },
  };
  const env = calicoNodeEnv(transformCalico(upstream, other));
  assert.equal(only(env, "IP_AUTODETECTION_METHOD").value, "cidrs=192.168.56.0/24");
  assert.equal(only(env, "CALICO_IPV4POOL_CIDR").value, "10.244.0.0/16");
});

/** A copy of the plan with another encapsulation. */
function withEncapsulation(encapsulation: CalicoEncapsulation): Plan {
  const cni = plan.addons.cni;
  assert.equal(cni.plugin, "calico");
  return { ...plan, addons: { ...plan.addons, cni: { ...cni, encapsulation } } };
}

/** calico-node's liveness and readiness commands in a list of objects. */
function probeCommands(objects: readonly KubeObject[]): { liveness: unknown; readiness: unknown } {
  const ds = objects.find(isCalicoNode) as unknown as {
    spec: { template: { spec: { containers: { name: string; [probe: string]: unknown }[] } } };
  };
  const container = ds.spec.template.spec.containers.find((c) => c.name === CALICO_NODE);
  const command = (probe: string) =>
    (container?.[probe] as { exec?: { command?: unknown } } | undefined)?.exec?.command;
  return { liveness: command("livenessProbe"), readiness: command("readinessProbe") };
}

/** The data of calico-config in a list of objects. */
function configData(objects: readonly KubeObject[]): Record<string, string> {
  const config = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === CALICO_CONFIG);
  assert.ok(config, "no ConfigMap calico-config");
  return config.data as Record<string, string>;
}

const backendOf = (objects: readonly KubeObject[]) => configData(objects).calico_backend;

test("fixture ships IPIP: pool IPIP Always and VXLAN Never, backend bird, BIRD checks in both probes", () => {
  const env = calicoNodeEnv(upstream);
  assert.equal(only(env, "CALICO_IPV4POOL_IPIP").value, "Always");
  assert.equal(only(env, "CALICO_IPV4POOL_VXLAN").value, "Never");
  assert.equal(backendOf(upstream), "bird");
  assert.deepEqual(probeCommands(upstream), {
    liveness: ["/bin/calico-node", "-felix-live", "-bird-live"],
    readiness: ["/bin/calico-node", "-felix-ready", "-bird-ready"],
  });
});

test("each encapsulation renders its pool modes, backend and probes into the pinned manifest", () => {
  const withBird = {
    liveness: ["/bin/calico-node", "-felix-live", "-bird-live"],
    readiness: ["/bin/calico-node", "-felix-ready", "-bird-ready"],
  };
  const withoutBird = {
    liveness: ["/bin/calico-node", "-felix-live"],
    readiness: ["/bin/calico-node", "-felix-ready"],
  };
  const want = {
    ipip: { ipip: "Always", vxlan: "Never", backend: "bird", probes: withBird },
    vxlan: { ipip: "Never", vxlan: "Always", backend: "vxlan", probes: withoutBird },
    "vxlan-cross-subnet": { ipip: "Never", vxlan: "CrossSubnet", backend: "vxlan", probes: withoutBird },
    none: { ipip: "Never", vxlan: "Never", backend: "bird", probes: withBird },
  } as const;
  for (const [encapsulation, w] of Object.entries(want)) {
    const out = transformCalico(upstream, withEncapsulation(encapsulation as CalicoEncapsulation));
    const env = calicoNodeEnv(out);
    assert.equal(only(env, "CALICO_IPV4POOL_IPIP").value, w.ipip, encapsulation);
    assert.equal(only(env, "CALICO_IPV4POOL_VXLAN").value, w.vxlan, encapsulation);
    assert.equal(only(env, "CALICO_IPV6POOL_VXLAN").value, "Never", `${encapsulation}: IPv6 pool untouched`);
    assert.equal(backendOf(out), w.backend, encapsulation);
    assert.deepEqual(probeCommands(out), w.probes, encapsulation);
    // The kubelab fixes are there whatever the encapsulation.
    assert.equal(only(env, "FELIX_HEALTHHOST").value, "127.0.0.1");
    assert.equal(only(env, "CALICO_IPV4POOL_CIDR").value, plan.kubernetes.podSubnet);
    assert.equal(only(env, "IP_AUTODETECTION_METHOD").value, "can-reach=$(NODEIP)");
    const ds = out.find(isCalicoNode);
    assert.doesNotThrow(() => new DaemonSet(ds as never).validate(), encapsulation);
  }
  assert.deepEqual(upstream, snapshot, "input mutated");
});

test("with VXLAN, exactly calico-config and the calico-node DaemonSet change", () => {
  const out = transformCalico(upstream, withEncapsulation("vxlan"));
  const changed = out.filter((o, i) => JSON.stringify(o) !== JSON.stringify(upstream[i]));
  assert.deepEqual(
    changed.map((o) => `${o.kind}/${o.metadata.name}`),
    [`ConfigMap/${CALICO_CONFIG}`, `DaemonSet/${CALICO_NODE}`],
  );
  assert.deepEqual(configData(out), { ...configData(upstream), calico_backend: "vxlan" });
});

test("a manifest without calico-node is refused with a clear error", () => {
  assert.throws(
    () =>
      transformCalico(
        upstream.filter((o) => !isCalicoNode(o)),
        plan,
      ),
    /no DaemonSet calico-node/,
  );
  const renamed = structuredClone(upstream);
  const ds = renamed.find(isCalicoNode) as KubeObject;
  const containers = (ds.spec as { template: { spec: { containers: { name: string }[] } } }).template.spec.containers;
  for (const c of containers) if (c.name === CALICO_NODE) c.name = "node";
  assert.throws(() => transformCalico(renamed, plan), /no container named calico-node/);
  assert.throws(
    () => transformCalico(upstream, { ...plan, addons: { ...plan.addons, cni: { plugin: "none" } } }),
    /not calico/,
  );
});

test("the transformed DaemonSet is a valid apps/v1 DaemonSet (kubernetes-models)", () => {
  const ds = transformCalico(upstream, plan).find(isCalicoNode);
  assert.ok(ds);
  assert.doesNotThrow(() => new DaemonSet(ds as never).validate());
});

test("kubernetes-models validation bites: a numeric env value is rejected", () => {
  const ds = structuredClone(transformCalico(upstream, plan).find(isCalicoNode)) as KubeObject;
  const container = (
    ds.spec as { template: { spec: { containers: { name: string; env: { name: string; value?: unknown }[] }[] } } }
  ).template.spec.containers.find((c) => c.name === CALICO_NODE);
  assert.ok(container);
  const healthHost = container.env.find((e) => e.name === "FELIX_HEALTHHOST");
  assert.ok(healthHost);
  healthHost.value = 127001;
  assert.throws(() => new DaemonSet(ds as never).validate(), /env\/\d+\/value must be string/);
});
