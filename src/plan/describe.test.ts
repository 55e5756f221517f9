import assert from "node:assert/strict";
import { it } from "node:test";
import { parse } from "yaml";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { clusterSchema } from "../config/schema.js";
import { buildPlan } from "./build.js";
import { describePlan, networkStrip } from "./describe.js";

const planOf = (yaml: string) => buildPlan(clusterSchema.parse(parse(yaml)));

it("the network map marks gateway, nodes, pool and DHCP where they are", () => {
  const strip = networkStrip(planOf(DEFAULT_CLUSTER_YAML));
  assert.equal(strip.length, 64);
  // 4 addresses a cell: .1 gateway in cell 0, nodes .11-.13 in cells 2-3, pool .46-.56 in cells 11-14, DHCP .100+ from cell 25.
  assert.equal(strip, `G.NN.......LLLL..........${"D".repeat(39)}`);
});

it("a clash shows as ! in the map, before anything is created", () => {
  const plan = planOf(
    DEFAULT_CLUSTER_YAML.replace("# pools: [192.168.56.46-192.168.56.56]", "pools: [192.168.56.96-192.168.56.110]"),
  );
  assert.match(networkStrip(plan), /L!!!D/);
  assert.match(describePlan(plan), /\.96-\.110 +MetalLB pool \(15 addresses\)/);
});

it("describePlan names versions and the settings that prevent the classic failures", () => {
  const text = describePlan(planOf(DEFAULT_CLUSTER_YAML));
  for (const want of [
    "cgroup driver systemd for runc and kubelet",
    "FELIX_HEALTHHOST=127.0.0.1",
    "encapsulation ipip",
    "IP_AUTODETECTION_METHOD=can-reach=$(NODEIP)",
    "externalTrafficPolicy Cluster",
    "registry.k8s.io/pause:3.10.2",
  ]) {
    assert.ok(text.includes(want), `missing ${want}`);
  }
});

it("describePlan names the encapsulation the file chose", () => {
  const plan = planOf(DEFAULT_CLUSTER_YAML.replace("encapsulation: ipip", "encapsulation: vxlan-cross-subnet"));
  assert.match(describePlan(plan), /calico +v\d+\.\d+\.\d+ \(encapsulation vxlan-cross-subnet, /);
});

it("a lab without workers says its control plane runs pods; one with workers does not", () => {
  const alone = planOf(
    DEFAULT_CLUSTER_YAML.replace("count: 2", "count: 1").replace(/ {2}- name: worker-\{n\}\n( {4}.*\n)+/, ""),
  );
  assert.equal(alone.nodes.length, 1);
  assert.equal(alone.kubernetes.controlPlaneRunsPods, true);
  assert.match(describePlan(alone), /pods run on the control plane: no workers/);
  assert.doesNotMatch(describePlan(planOf(DEFAULT_CLUSTER_YAML)), /pods run on the control plane/);
});
