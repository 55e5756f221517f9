import assert from "node:assert/strict";
import { it } from "node:test";
import { localRemote } from "../../test/helpers/local-remote.js";
import { need } from "../../test/helpers/prereq.js";
import { gatherFacts, nodeEnvironment, parseFacts } from "./facts.js";

it("the facts script runs on a real Debian system and every section parses", async () => {
  const facts = await gatherFacts(localRemote(), {
    files: ["/etc/os-release", "/nonexistent/file", "/etc/hostname"],
    sysctls: ["net.ipv4.ip_forward", "net.nonexistent.key", "kernel.ostype"],
    packages: ["dpkg", "nonexistent-package-kubelab"],
    units: ["containerd"],
  });
  assert.equal(facts.os.id, "debian");
  assert.match(facts.os.versionId, /^\d+$/);
  assert.match(facts.arch, /^(amd64|arm64)$/);
  assert.ok(facts.hostname.length > 0);
  assert.ok(Math.abs(facts.clock.node - facts.clock.local) <= 2);
  assert.match(facts.files.get("/etc/os-release") ?? "", /^PRETTY_NAME=|ID=debian/m);
  assert.ok(facts.files.has("/nonexistent/file"));
  assert.equal(facts.files.get("/nonexistent/file"), undefined);
  assert.match(facts.sysctls.get("net.ipv4.ip_forward") ?? "", /^[01]$/);
  assert.equal(facts.sysctls.get("kernel.ostype"), "Linux");
  assert.equal(facts.sysctls.get("net.nonexistent.key"), undefined);
  assert.match(facts.packages.get("dpkg") ?? "", /^1\.\d+/);
  assert.equal(facts.packages.has("nonexistent-package-kubelab"), false);
  assert.ok(facts.filesystems.includes("proc"));
  assert.ok(facts.units.has("containerd"));
});

it("the tunnel probe answers for ipip and vxlan as root and leaves no device behind", async (t) => {
  if (!need(t, "root (to make a network namespace)", process.getuid?.() === 0, "run the integration tier as root"))
    return;
  const facts = await gatherFacts(localRemote(), { files: [], sysctls: [], packages: [], units: [] });
  // Which answer depends on the kernel (some are built without IPIP); that it answers does not.
  assert.equal(typeof facts.tunnels.ipip, "boolean", JSON.stringify(facts.tunnels));
  assert.equal(typeof facts.tunnels.vxlan, "boolean", JSON.stringify(facts.tunnels));
  // Other tests may add devices meanwhile: look only for the probe's names.
  const names = await links();
  assert.ok(!names.includes("kl-probe") && !names.includes("kl-probe2"), "the probe's devices stayed in its namespace");
});

it("hostile file names are passed as data, not code", async () => {
  const facts = await gatherFacts(localRemote(), {
    files: ["/tmp/$(touch /tmp/kubelab-pwned)'\"; x"],
    sysctls: [],
    packages: [],
    units: [],
  });
  assert.equal(facts.files.get("/tmp/$(touch /tmp/kubelab-pwned)'\"; x"), undefined);
  const { existsSync } = await import("node:fs");
  assert.equal(existsSync("/tmp/kubelab-pwned"), false);
});

it("nodeEnvironment: whether the node is a container, and its cgroup version, come from its facts", () => {
  const facts = (cgroup: string, container: string) =>
    parseFacts(`\n@@cgroup\n${cgroup}\n@@container\n${container}\n`, 0);
  assert.deepEqual(nodeEnvironment(facts("v2", "none")), { container: false, cgroupV1: false });
  assert.deepEqual(nodeEnvironment(facts("v2", "")), { container: false, cgroupV1: false });
  assert.deepEqual(nodeEnvironment(facts("v1", "systemd-nspawn")), { container: true, cgroupV1: true });
  assert.deepEqual(nodeEnvironment(facts("v2", "lxc")), { container: true, cgroupV1: false });
});

/** The names of this host's network devices. */
async function links(): Promise<string[]> {
  const out = await localRemote().run(["ip", "-o", "link", "show"]);
  return out
    .split("\n")
    .map((l) => l.split(":")[1]?.trim() ?? "")
    .filter((n) => n !== "");
}
