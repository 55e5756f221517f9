// parseManifest and stringifyManifest on small inline documents: empty documents and List kinds,
// what is refused, and strings a YAML 1.1 reader would misread.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { parseManifest, stringifyManifest } from "./manifests.js";
import type { KubeObject } from "./types.js";

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
