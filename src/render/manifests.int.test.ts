// The pinned upstream manifests (the dev cache) through parseManifest: the objects each holds, and
// a parse/stringify round trip that keeps every x-kubernetes-* key and value.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FIXTURES, readFixture } from "../../test/helpers/fixtures.js";
import { parseManifest, stringifyManifest } from "./manifests.js";
import type { KubeObject } from "./types.js";

function count(objects: readonly KubeObject[], kind: string): number {
  return objects.filter((o) => o.kind === kind).length;
}

/** Occurrences of each `x-kubernetes-*` key (as a mapping key, not in prose) in YAML text. */
function xKubernetesKeys(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of text.matchAll(/^\s*(?:- )?["']?(x-kubernetes-[a-z-]+)["']?:/gm)) {
    const key = m[1] as string;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

test("calico.yaml: 23 CRDs (22 crd.projectcalico.org + 1 policy.networking.k8s.io) and the calico-node DaemonSet", () => {
  const objects = parseManifest(readFixture(FIXTURES.calico));
  const crds = objects.filter((o) => o.kind === "CustomResourceDefinition");
  assert.equal(crds.length, 23);
  const groups = crds.map((o) => (o.spec as { group: string }).group);
  assert.equal(groups.filter((g) => g === "crd.projectcalico.org").length, 22);
  assert.deepEqual(
    crds.filter((o) => (o.spec as { group: string }).group !== "crd.projectcalico.org").map((o) => o.metadata.name),
    ["clusternetworkpolicies.policy.networking.k8s.io"],
  );
  assert.equal(count(objects, "DaemonSet"), 1);
  assert.equal(count(objects, "Deployment"), 1);
  for (const o of objects) assert.ok(o.metadata.name, `${o.kind} without a name`);
});

test("metallb-native.yaml: 9 CRDs incl. IPAddressPool and L2Advertisement, controller and speaker", () => {
  const objects = parseManifest(readFixture(FIXTURES.metallb));
  assert.equal(objects.length, 26);
  const crdKinds = objects
    .filter((o) => o.kind === "CustomResourceDefinition")
    .map((o) => (o.spec as { names: { kind: string } }).names.kind)
    .sort();
  assert.equal(crdKinds.length, 9);
  assert.ok(crdKinds.includes("IPAddressPool") && crdKinds.includes("L2Advertisement"));
  assert.equal(count(objects, "Namespace"), 1);
  assert.deepEqual(
    objects.filter((o) => o.kind === "Deployment" || o.kind === "DaemonSet").map((o) => `${o.kind}/${o.metadata.name}`),
    ["Deployment/controller", "DaemonSet/speaker"],
  );
});

test("headlamp and dashboard manifests parse to the expected objects", () => {
  const headlamp = parseManifest(readFixture(FIXTURES.headlamp));
  assert.deepEqual(
    headlamp.map((o) => `${o.kind}/${o.metadata.name}`),
    ["Service/headlamp", "Deployment/headlamp", "Secret/headlamp-admin"],
  );
  const dashboard = parseManifest(readFixture(FIXTURES.dashboard));
  assert.equal(count(dashboard, "Deployment"), 2);
  assert.equal(dashboard[0]?.kind, "Namespace");
});

for (const [label, fixture] of [
  ["metallb-native.yaml", FIXTURES.metallb],
  // calico.yaml is where x-kubernetes-int-or-string actually occurs (metallb's CRDs have none).
  ["calico.yaml", FIXTURES.calico],
] as const) {
  test(`${label}: a parse/stringify round trip keeps every x-kubernetes-* key and every value`, () => {
    const text = readFixture(fixture);
    const objects = parseManifest(text);
    const again = stringifyManifest(objects);
    const before = xKubernetesKeys(text);
    const after = xKubernetesKeys(again);
    assert.ok(before.size > 0, "fixture has no x-kubernetes-* keys; the check would prove nothing");
    assert.deepEqual(after, before);
    assert.deepEqual(parseManifest(again), objects);
  });
}

test("calico.yaml keeps its 55 x-kubernetes-int-or-string markers through a round trip", () => {
  const again = stringifyManifest(parseManifest(readFixture(FIXTURES.calico)));
  assert.equal(xKubernetesKeys(again).get("x-kubernetes-int-or-string"), 55);
});
