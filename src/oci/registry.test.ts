// Image names as the CRI looks them up: what a bundle imports must match what kubelet asks for.
import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalName, parseReference } from "./registry.js";

test("short Docker Hub names get their registry and library/ prefix; full names stay as they are", () => {
  assert.equal(canonicalName("prom/prometheus:v2.55.1"), "docker.io/prom/prometheus:v2.55.1");
  assert.equal(canonicalName("busybox"), "docker.io/library/busybox:latest");
  assert.equal(canonicalName("registry.k8s.io/pause:3.10.2"), "registry.k8s.io/pause:3.10.2");
  assert.equal(canonicalName("localhost:5000/a/b:c"), "localhost:5000/a/b:c");
  const digest = `sha256:${"a".repeat(64)}`;
  assert.equal(canonicalName(`quay.io/metallb/speaker@${digest}`), `quay.io/metallb/speaker@${digest}`);
  assert.throws(() => parseReference("Upper/Case:1"), /invalid image name/);
});
