// collectApi against a real kube-apiserver + etcd (test/helpers/doctor-api.ts): what it lists,
// how it keys the objects, what it strips. Its Secret and log handling are tested with the
// checks that read them (checks/linkerd.int.test.ts, checks/calico.int.test.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { doctor, NODES, startLabApi } from "../../test/helpers/doctor-api.js";
import { API_KEYS } from "./api.js";

test("collectApi on a real API server", async (t) => {
  const lab = await startLabApi(t);
  if (!lab) return;
  const { kc } = lab;
  await t.test("collectApi: objects keyed apiVersion/Kind, no managedFields, kinds not served are empty", async () => {
    const { api: evidence } = await doctor(kc);
    assert.deepEqual(Object.keys(evidence.objects), Object.values(API_KEYS).sort());
    const nodes = evidence.objects[API_KEYS.node] ?? [];
    assert.deepEqual(
      nodes.map((n) => (n.metadata as { name: string }).name).sort(),
      NODES.map((n) => n.name),
    );
    assert.ok(nodes.every((n) => n.apiVersion === "v1" && n.kind === "Node"));
    assert.ok(!JSON.stringify(evidence).includes("managedFields"));
    // MetalLB is not installed yet: its kinds are simply empty; AddressPool is gone since v0.14.
    assert.deepEqual(evidence.objects[API_KEYS.ipAddressPool], []);
    assert.deepEqual(evidence.objects[API_KEYS.addressPool], []);
    assert.deepEqual(evidence.logs, {});
  });
});
