// What image bake runs on the VM to pull an image (pure): containerd's own pull into the CRI's
// namespace, under the canonical name, or through a mirror and then named canonically; where
// the baking VM's inserted key is, and the wait for the sealed VM to power off.
import assert from "node:assert/strict";
import { test } from "node:test";
import { insertedKeyPath, pullCommands, waitStopped } from "./bake-box.js";

test("pulls go to the CRI's namespace under the canonical name, through a mirror when one is given", () => {
  const ctr = ["ctr", "-n", "k8s.io", "images"];
  assert.deepEqual(pullCommands("prom/prometheus:v2.55.1"), [[...ctr, "pull", "docker.io/prom/prometheus:v2.55.1"]]);
  const mirrors = new Map([["registry.k8s.io", "http://10.232.7.1:5000/"]]);
  assert.deepEqual(pullCommands("registry.k8s.io/pause:3.10.2", mirrors), [
    [...ctr, "pull", "--plain-http", "10.232.7.1:5000/pause:3.10.2"],
    [...ctr, "tag", "--force", "10.232.7.1:5000/pause:3.10.2", "registry.k8s.io/pause:3.10.2"],
    [...ctr, "rm", "10.232.7.1:5000/pause:3.10.2"],
  ]);
  assert.deepEqual(pullCommands("quay.io/metallb/speaker:v0.16.1", mirrors), [
    [...ctr, "pull", "quay.io/metallb/speaker:v0.16.1"],
  ]);
  const tls = new Map([["docker.io", "https://mirror.example/hub"]]);
  assert.deepEqual(pullCommands("busybox", tls)[0], [...ctr, "pull", "mirror.example/hub/library/busybox:latest"]);
});

test("an image with a pinned digest is pulled by that digest, through a mirror too, then named canonically", () => {
  const ctr = ["ctr", "-n", "k8s.io", "images"];
  const digest = `sha256:${"d".repeat(64)}`;
  const digests = { "registry.k8s.io/pause:3.10.2": digest };
  assert.deepEqual(pullCommands("registry.k8s.io/pause:3.10.2", new Map(), digests), [
    [...ctr, "pull", `registry.k8s.io/pause@${digest}`],
    [...ctr, "tag", "--force", `registry.k8s.io/pause@${digest}`, "registry.k8s.io/pause:3.10.2"],
    [...ctr, "rm", `registry.k8s.io/pause@${digest}`],
  ]);
  const mirrors = new Map([["registry.k8s.io", "http://10.232.7.1:5000/"]]);
  assert.deepEqual(pullCommands("registry.k8s.io/pause:3.10.2", mirrors, digests)[0], [
    ...ctr,
    "pull",
    "--plain-http",
    `10.232.7.1:5000/pause@${digest}`,
  ]);
});

test("the baking VM's inserted key is the one in its machine directory; waitStopped returns once it is not running", async () => {
  assert.equal(insertedKeyPath("/c", "libvirt"), "/c/.vagrant/machines/bake/libvirt/private_key");
  const states = ["running", "running", "shutoff"];
  let calls = 0;
  await waitStopped(async () => states[calls++], 10_000, 1);
  assert.equal(calls, 3);
  await assert.rejects(
    waitStopped(async () => "running", 5, 1),
    /did not power off within/,
  );
});
