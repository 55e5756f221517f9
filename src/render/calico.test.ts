// The Calico transform on a small manifest shaped like calico.yaml's two objects it changes
// (the pinned manifest itself is read in calico.int.test.ts): each encapsulation sets the pool
// modes, the backend and, for VXLAN, probes without BIRD checks.
import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import type { CalicoEncapsulation, Plan } from "../plan/types.js";
import { CALICO_CONFIG, CALICO_NODE, calicoNodeEnv, type EnvVar, transformCalico } from "./calico.js";
import type { KubeObject } from "./types.js";

const config: KubeObject = {
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: CALICO_CONFIG, namespace: "kube-system" },
  data: { typha_service_name: "none", calico_backend: "bird", veth_mtu: "0" },
};

const probe = (...flags: string[]) => ({ exec: { command: ["/bin/calico-node", ...flags] }, periodSeconds: 10 });

const daemonSet: KubeObject = {
  apiVersion: "apps/v1",
  kind: "DaemonSet",
  metadata: { name: CALICO_NODE, namespace: "kube-system" },
  spec: {
    template: {
      spec: {
        containers: [
          {
            name: CALICO_NODE,
            env: [
              {
                name: "CALICO_NETWORKING_BACKEND",
                valueFrom: { configMapKeyRef: { name: CALICO_CONFIG, key: "calico_backend" } },
              },
              { name: "CALICO_IPV4POOL_IPIP", value: "Always" },
              { name: "CALICO_IPV4POOL_VXLAN", value: "Never" },
              { name: "FELIX_HEALTHENABLED", value: "true" },
            ],
            livenessProbe: probe("-felix-live", "-bird-live"),
            readinessProbe: probe("-felix-ready", "-bird-ready"),
          },
        ],
      },
    },
  },
};

const other: KubeObject = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: CALICO_NODE } };
const manifest = [config, other, daemonSet];
const snapshot = structuredClone(manifest);

function planFor(encapsulation: CalicoEncapsulation): Plan {
  const plan = defaultPlan();
  assert.equal(plan.addons.cni.plugin, "calico");
  return { ...plan, addons: { ...plan.addons, cni: { ...plan.addons.cni, encapsulation } } };
}

type Probe = ReturnType<typeof probe>;
type Shape = { spec: { template: { spec: { containers: { livenessProbe: Probe; readinessProbe: Probe }[] } } } };

/** What the transform made of the two objects, in the terms Calico's documentation uses. */
function rendered(encapsulation: CalicoEncapsulation) {
  const out = transformCalico(manifest, planFor(encapsulation));
  const env = calicoNodeEnv(out);
  const value = (name: string) => env.filter((e: EnvVar) => e.name === name).map((e) => e.value);
  const [configOut, , dsOut] = out as [KubeObject, KubeObject, KubeObject];
  const container = (dsOut as unknown as Shape).spec.template.spec.containers[0];
  assert.ok(container);
  return {
    ipip: value("CALICO_IPV4POOL_IPIP"),
    vxlan: value("CALICO_IPV4POOL_VXLAN"),
    backend: (configOut.data as Record<string, string>).calico_backend,
    liveness: container.livenessProbe.exec.command,
    readiness: container.readinessProbe.exec.command,
    out,
  };
}

const WITH_BIRD = {
  liveness: ["/bin/calico-node", "-felix-live", "-bird-live"],
  readiness: ["/bin/calico-node", "-felix-ready", "-bird-ready"],
};
const WITHOUT_BIRD = { liveness: ["/bin/calico-node", "-felix-live"], readiness: ["/bin/calico-node", "-felix-ready"] };

test("ipip (the default) is the manifest as shipped: IPIP Always, VXLAN Never, BIRD and its checks", () => {
  const r = rendered("ipip");
  assert.deepEqual(r.ipip, ["Always"]);
  assert.deepEqual(r.vxlan, ["Never"]);
  assert.equal(r.backend, "bird");
  assert.deepEqual({ liveness: r.liveness, readiness: r.readiness }, WITH_BIRD);
  assert.deepEqual(r.out[0], config, "calico-config unchanged");
});

test("vxlan: IPIP Never, VXLAN Always, backend vxlan, no BIRD checks in the probes", () => {
  const r = rendered("vxlan");
  assert.deepEqual([r.ipip, r.vxlan, r.backend], [["Never"], ["Always"], "vxlan"]);
  assert.deepEqual({ liveness: r.liveness, readiness: r.readiness }, WITHOUT_BIRD);
});

test("vxlan-cross-subnet: VXLAN CrossSubnet, backend vxlan, no BIRD checks", () => {
  const r = rendered("vxlan-cross-subnet");
  assert.deepEqual([r.ipip, r.vxlan, r.backend], [["Never"], ["CrossSubnet"], "vxlan"]);
  assert.deepEqual({ liveness: r.liveness, readiness: r.readiness }, WITHOUT_BIRD);
});

test("none: no tunnel at all, BIRD kept to learn the routes over BGP", () => {
  const r = rendered("none");
  assert.deepEqual([r.ipip, r.vxlan, r.backend], [["Never"], ["Never"], "bird"]);
  assert.deepEqual({ liveness: r.liveness, readiness: r.readiness }, WITH_BIRD);
});

test("kubelab's other settings stay, the rest of calico-config and other objects are untouched", () => {
  for (const encapsulation of ["ipip", "vxlan", "vxlan-cross-subnet", "none"] as const) {
    const r = rendered(encapsulation);
    const names = calicoNodeEnv(r.out).map((e) => e.name);
    for (const name of ["FELIX_HEALTHHOST", "NODEIP", "IP_AUTODETECTION_METHOD", "CALICO_IPV4POOL_CIDR"]) {
      assert.ok(names.includes(name), `${encapsulation}: ${name} missing`);
    }
    assert.deepEqual(names.slice(0, 4), [
      "CALICO_NETWORKING_BACKEND",
      "CALICO_IPV4POOL_IPIP",
      "CALICO_IPV4POOL_VXLAN",
      "FELIX_HEALTHENABLED",
    ]);
    assert.deepEqual(r.out[0]?.data, { ...(config.data as object), calico_backend: r.backend });
    assert.equal(r.out[1], other);
  }
  assert.deepEqual(manifest, snapshot, "input mutated");
});

test("a manifest without calico-config is refused", () => {
  assert.throws(() => transformCalico([other, daemonSet], planFor("vxlan")), /no ConfigMap calico-config/);
});
