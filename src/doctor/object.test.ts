import assert from "node:assert/strict";
import { test } from "node:test";
import {
  annotationsOf,
  at,
  isObject,
  labelsOf,
  nameOf,
  namespaceOf,
  num,
  obj,
  objects,
  refOf,
  str,
  stringMap,
  strings,
} from "./object.js";

// A Service as the API returns it, with a few fields of the wrong type mixed in.
const SERVICE: unknown = JSON.parse(`{
  "apiVersion": "v1",
  "kind": "Service",
  "metadata": {
    "name": "web",
    "namespace": "demo",
    "labels": {"app": "web", "replicas": 3},
    "annotations": {"metallb.io/loadBalancerIPs": "192.168.56.47"}
  },
  "spec": {
    "type": "LoadBalancer",
    "ports": [{"name": "http", "port": 80}, "not an object", null, {"port": 443}],
    "externalIPs": ["192.168.56.50", 7, null],
    "allocateLoadBalancerNodePorts": true
  },
  "status": {"loadBalancer": {"ingress": [{"ip": "192.168.56.47"}]}}
}`);

const NODE: unknown = { apiVersion: "v1", kind: "Node", metadata: { name: "worker-1" } };

test("isObject: objects only, never arrays or null", () => {
  assert.equal(isObject({}), true);
  assert.equal(isObject([]), false);
  assert.equal(isObject(null), false);
  assert.equal(isObject("x"), false);
  assert.equal(isObject(undefined), false);
});

test("at walks objects and stops at anything else", () => {
  assert.equal(at(SERVICE, "spec", "type"), "LoadBalancer");
  assert.equal(at(SERVICE, "spec", "allocateLoadBalancerNodePorts"), true);
  assert.equal(at(SERVICE), SERVICE);
  assert.equal(at(SERVICE, "spec", "missing", "deeper"), undefined);
  // An array is not walked into by key, a string is not indexed.
  assert.equal(at(SERVICE, "spec", "ports", "0"), undefined);
  assert.equal(at(SERVICE, "kind", "length"), undefined);
  assert.equal(at(undefined, "a"), undefined);
  assert.equal(at(null, "a"), undefined);
});

test("str and num give the value only when it has their type", () => {
  assert.equal(str(SERVICE, "metadata", "name"), "web");
  assert.equal(str(SERVICE, "spec", "allocateLoadBalancerNodePorts"), undefined);
  assert.equal(str(SERVICE, "spec", "nothing"), undefined);
  assert.equal(num(SERVICE, "metadata", "labels", "replicas"), 3);
  assert.equal(num(SERVICE, "metadata", "name"), undefined);
});

test("obj, objects, strings and stringMap default to empty and drop entries of another type", () => {
  assert.deepEqual(obj(SERVICE, "status", "loadBalancer"), { ingress: [{ ip: "192.168.56.47" }] });
  assert.deepEqual(obj(SERVICE, "spec", "ports"), {});
  assert.deepEqual(obj(SERVICE, "spec", "nothing"), {});
  assert.deepEqual(objects(SERVICE, "spec", "ports"), [{ name: "http", port: 80 }, { port: 443 }]);
  assert.deepEqual(objects(SERVICE, "spec", "type"), []);
  assert.deepEqual(objects(SERVICE, "nothing"), []);
  assert.deepEqual(strings(SERVICE, "spec", "externalIPs"), ["192.168.56.50"]);
  assert.deepEqual(strings(SERVICE, "metadata"), []);
  assert.deepEqual(stringMap(SERVICE, "metadata", "labels"), { app: "web" });
  assert.deepEqual(stringMap(SERVICE, "spec", "ports"), {});
});

test("metadata readers: name, namespace, ref, labels, annotations", () => {
  assert.equal(nameOf(SERVICE), "web");
  assert.equal(namespaceOf(SERVICE), "demo");
  assert.equal(refOf(SERVICE), "demo/web");
  assert.deepEqual(labelsOf(SERVICE), { app: "web" });
  assert.deepEqual(annotationsOf(SERVICE), { "metallb.io/loadBalancerIPs": "192.168.56.47" });
  // Cluster-scoped: no namespace, the ref is the name.
  assert.equal(namespaceOf(NODE), "");
  assert.equal(refOf(NODE), "worker-1");
  assert.deepEqual(labelsOf(NODE), {});
  // Not an API object at all.
  assert.equal(nameOf("text"), "?");
  assert.equal(refOf(42), "?");
});
