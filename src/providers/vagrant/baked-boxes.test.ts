// Baked boxes, the pure parts: the key follows exactly what decides a box's contents, the
// baking VM gets an address no node and no pool uses, and a plan made from a baked box names
// it without the base box's version.
import assert from "node:assert/strict";
import { test } from "node:test";
import { planWith } from "../../../test/helpers/fixtures.js";
import { bakePlan } from "../../plan/bake.js";
import { type BakedBox, bakedBoxName, bakeKey, withBox } from "./baked-boxes.js";

test("the bake key changes with the box, the hypervisor and every version, and with nothing else", () => {
  const base = bakeKey(planWith());
  assert.match(base, /^[0-9a-f]{64}$/);
  assert.equal(bakeKey(planWith()), base, "stable");
  // Node counts, names, sizes, addresses and the pools do not change what a node holds.
  const same = planWith((raw) => {
    raw.metadata.name = "other";
    raw.nodes[1].count = 5;
    raw.network = { cidr: "10.77.0.0/24" };
    raw.addons.metallb.pools = ["10.77.0.46-10.77.0.56"];
  });
  assert.equal(bakeKey(same), base);
  const different: Record<string, (raw: Record<string, any>) => void> = {
    hypervisor: (raw) => {
      raw.provider.hypervisor = "libvirt";
    },
    box: (raw) => {
      raw.provider.box = "example/other";
    },
    "box version": (raw) => {
      raw.provider.boxVersion = "202502.21.0";
    },
    kubernetes: (raw) => {
      raw.kubernetes.version = "v1.36.3";
    },
    "no linkerd": (raw) => {
      raw.addons.linkerd = { enabled: false };
    },
    "the dashboard": (raw) => {
      raw.addons.ui = "dashboard";
    },
  };
  for (const [what, change] of Object.entries(different))
    assert.notEqual(bakeKey(planWith(change)), base, `${what} must change the key`);
  assert.equal(bakedBoxName(planWith()), `kubelab/virtualbox-${base.slice(0, 12)}`);
});

test("the baking VM: one control plane at the highest free address, outside every pool and the DHCP range", () => {
  const plan = planWith((raw) => {
    raw.addons.metallb.pools = ["192.168.56.46-192.168.56.56", "192.168.56.90-192.168.56.99"];
  });
  const b = bakePlan(plan);
  assert.equal(b.name, `${plan.name}-bake`);
  assert.deepEqual(
    b.nodes.map((n) => [n.name, n.role, n.ip, n.cpus, n.memoryMiB]),
    [["bake", "control-plane", "192.168.56.89", plan.nodes[0]?.cpus, plan.nodes[0]?.memoryMiB]],
  );
  assert.equal(bakeKey(b), bakeKey(plan), "the baking VM's box is the cluster's");
});

test("the baking VM takes no control-plane VIP: not its address, no keepalived for it", () => {
  const plan = planWith((raw) => {
    raw.nodes[0].count = 3;
    raw.network.dhcpRange = null;
    raw.controlPlane = { endpoint: { vip: "192.168.56.254" } };
  });
  assert.equal(plan.vip?.address, "192.168.56.254");
  const b = bakePlan(plan);
  assert.equal(b.vip, undefined);
  assert.equal(b.nodes[0]?.ip, "192.168.56.253");
});

test("a plan made from a baked box names it, without the base box's version", () => {
  const plan = planWith();
  const baked: BakedBox = {
    name: bakedBoxName(plan),
    key: bakeKey(plan),
    hypervisor: "virtualbox",
    base: { box: "bento/ubuntu-24.04", version: "202510.26.0" },
    kubernetes: "v1.37.2",
    containerd: "v2.3.4",
    images: [],
    created: "2026-11-28T00:00:00.000Z",
  };
  const p = withBox(plan, baked).provider;
  assert.ok(p.name === "vagrant");
  assert.equal(p.box, baked.name);
  assert.equal(p.boxVersion, undefined);
  assert.equal(p.diskController, "SATA Controller", "the baked box keeps the base box's disk controller");
});
