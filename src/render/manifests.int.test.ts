import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
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

test("empty documents are skipped and List kinds flattened", () => {
  const text = [
    "# leading comment only",
    "---",
    "---",
    "apiVersion: v1",
    "kind: List",
    "items:",
    "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}",
    "  - apiVersion: v1",
    "    kind: ServiceList",
    "    items:",
    "      - {apiVersion: v1, kind: Service, metadata: {name: b}}",
    "---",
    "# trailing comment",
    "---",
    "apiVersion: v1",
    "kind: ConfigMap",
    "metadata: {name: c}",
    "",
  ].join("\n");
  assert.deepEqual(
    parseManifest(text).map((o) => `${o.kind}/${o.metadata.name}`),
    ["ConfigMap/a", "Service/b", "ConfigMap/c"],
  );
  assert.deepEqual(parseManifest(""), []);
  assert.deepEqual(parseManifest("---\n# nothing\n"), []);
});

test("not-objects and bad YAML are refused with the document number", () => {
  assert.throws(
    () => parseManifest("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n- 1\n- 2\n"),
    /document 2: expected a Kubernetes object/,
  );
  assert.throws(() => parseManifest("kind: ConfigMap\nmetadata: {name: a}\n"), /missing apiVersion/);
  assert.throws(() => parseManifest("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"), /missing metadata.name/);
  assert.throws(
    () => parseManifest("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nkind: Secret\n"),
    /document 1: invalid YAML/,
  );
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

test("stringifyManifest: documents joined by ---, strings a YAML 1.1 reader would misread stay strings", () => {
  const values = ["yes", "on", "off", "y", "0777", "0o17", "1_000", "1:20", "2001-12-14", "true", "null", "8.8.8.8"];
  const objects: KubeObject[] = [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "a" },
      data: Object.fromEntries(values.map((v, i) => [`k${i}`, v])),
    },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "b" }, data: { port: "80" } },
  ];
  const text = stringifyManifest(objects);
  assert.equal(text.split(/^---$/m).length, 2);
  // kubectl / the API server read YAML 1.1 (sigs.k8s.io/yaml); client-node and this module 1.2.
  for (const version of ["1.1", "1.2"] as const) {
    const docs = text.split(/^---\n/m).map((d) => parse(d, { version }) as KubeObject);
    assert.deepEqual(docs, objects, `YAML ${version} reader disagrees`);
  }
  assert.deepEqual(parseManifest(text), objects);
  assert.equal(stringifyManifest([]), "");
});
