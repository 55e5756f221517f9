// Server-side apply against a real kube-apiserver + etcd (test/helpers/apiserver.ts) with the
// pinned upstream manifests (the fixtures) and kubelab's own objects.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { startApiServer } from "../../test/helpers/apiserver.js";
import { defaultPlan, FIXTURES, readFixture } from "../../test/helpers/fixtures.js";
import { parseManifest } from "../render/manifests.js";
import { metallbObjects } from "../render/metallb.js";
import { applyObjects, FIELD_MANAGER } from "./apply.js";
import { fetchRaw, kubeConfig } from "./client.js";

test("CRDs first and Established, then kubelab's MetalLB objects; a re-apply changes nothing; a change changes one", async (t) => {
  const api = await startApiServer(t);
  if (!api) return;
  const kc = kubeConfig(api.kubeconfig);
  const metallb = parseManifest(readFixture(FIXTURES.metallb));
  const crds = metallb.filter((o) => o.kind === "CustomResourceDefinition");
  const namespace = metallb.filter((o) => o.kind === "Namespace");
  const plan = defaultPlan();
  // kubelab's objects listed before the CRDs on purpose: apply orders them.
  const objects = [...(metallbObjects(plan) as never[]), ...crds, ...namespace];

  const first = await applyObjects(kc, objects, { timeoutMs: 60_000 });
  assert.equal(first.changed.length, objects.length, JSON.stringify(first));
  assert.ok(
    first.changed.includes("IPAddressPool metallb-system/lab-pool") ||
      first.changed.some((c) => c.startsWith("IPAddressPool metallb-system/")),
  );

  const custom = kc.makeApiClient(CustomObjectsApi);
  const pools = (await custom.listNamespacedCustomObject({
    group: "metallb.io",
    version: "v1beta1",
    namespace: "metallb-system",
    plural: "ipaddresspools",
  })) as {
    items: { spec: { addresses: string[] }; metadata: { managedFields: { manager: string; operation: string }[] } }[];
  };
  assert.deepEqual(pools.items[0]?.spec.addresses, ["192.168.56.46-192.168.56.56"]);
  assert.ok(pools.items[0]?.metadata.managedFields.some((f) => f.manager === FIELD_MANAGER && f.operation === "Apply"));

  const again = await applyObjects(kc, objects, { timeoutMs: 60_000 });
  assert.deepEqual(again.changed, [], "nothing new to apply");
  assert.equal(again.unchanged.length, objects.length);

  const moved = structuredClone(objects) as { kind: string; spec?: { addresses?: string[] } }[];
  const pool = moved.find((o) => o.kind === "IPAddressPool");
  assert.ok(pool?.spec);
  pool.spec.addresses = ["192.168.56.60-192.168.56.70"];
  const third = await applyObjects(kc, moved as never[], { timeoutMs: 60_000 });
  assert.equal(third.changed.length, 1);
  assert.match(third.changed[0] as string, /^IPAddressPool metallb-system\//);
});

test("Calico's CRDs keep their x-kubernetes-* schema markers through parse and apply", async (t) => {
  const api = await startApiServer(t);
  if (!api) return;
  const kc = kubeConfig(api.kubeconfig);
  const crds = parseManifest(readFixture(FIXTURES.calico)).filter((o) => o.kind === "CustomResourceDefinition");
  const text = JSON.stringify(crds);
  const markers = text.match(/"x-kubernetes-int-or-string":true/g)?.length ?? 0;
  assert.ok(markers > 0, "the parsed CRDs carry the markers");
  await applyObjects(kc, crds, { timeoutMs: 120_000 });
  // Read back raw: what the API server stored, with no client model in between.
  const stored = JSON.parse((await fetchRaw(kc, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")).body) as {
    items: { spec: { group: string } }[];
  };
  const back = JSON.stringify(
    stored.items.filter((c) => c.spec.group === "crd.projectcalico.org" || c.spec.group === "policy.networking.k8s.io"),
  );
  assert.equal(
    back.match(/"x-kubernetes-int-or-string":true/g)?.length ?? 0,
    markers,
    "the API server has every marker",
  );
});
