// Configure the OS against fake nodes: hostname, swap, kernel modules and sysctls are changed
// only where the facts differ from the plan, and a dry run records the same without acting.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fakeCluster, freshNode, preparedNode } from "../../test/helpers/fake-node.js";
import { REST } from "../../test/helpers/fake-remote.js";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import { HostsError } from "../remote/hosts.js";
import { renderModulesLoad, renderSysctl } from "../render/node-files.js";
import { configureOsPhase } from "./configure-os.js";

const plan = defaultPlan();
const MODULES = renderModulesLoad(plan);
const SYSCTL = renderSysctl(plan);

/** What configure-os records for a fresh node, in order. */
const FRESH_CHANGES = [
  "set hostname to worker-1 (was debian)",
  "turn swap off (/swap.img)",
  "disable swap in /etc/fstab",
  `write ${MODULES.path}`,
  "load kernel module overlay",
  "load kernel module br_netfilter",
  `write ${SYSCTL.path}`,
  "apply sysctls net.bridge.bridge-nf-call-iptables, net.bridge.bridge-nf-call-ip6tables, net.ipv4.ip_forward",
].map((what) => ({ node: "worker-1", what }));

const freshWorker = (dryRun = false) => fakeCluster(plan, { "worker-1": freshNode() }, { dryRun });

test("prepared nodes get no change and no command", async () => {
  const c = await fakeCluster(plan);
  await configureOsPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, []);
  assert.deepEqual(c.touched(), []);
});

test("a fresh node gets hostname, swap, modules and sysctls set, and nothing else", async () => {
  const c = await freshWorker();
  const worker = c.node("worker-1");
  worker.on(["hostnamectl", "set-hostname", "worker-1"]).on(["swapoff", "-a"]).on(["modprobe", REST]);
  worker.on(["sysctl", "-p", SYSCTL.path]);
  await configureOsPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, FRESH_CHANGES);
  assert.deepEqual(worker.commands(), [
    ["hostnamectl", "set-hostname", "worker-1"],
    ["swapoff", "-a"],
    ["modprobe", "overlay"],
    ["modprobe", "br_netfilter"],
    ["sysctl", "-p", SYSCTL.path],
  ]);
  assert.deepEqual(worker.writes(), ["/etc/fstab", MODULES.path, SYSCTL.path]);
  assert.equal(
    worker.files.get("/etc/fstab"),
    "UUID=0a1b / ext4 errors=remount-ro 0 1\n# disabled by kubelab (kubelet needs swap off): /swap.img\tnone\tswap\tsw\t0\t0\n",
  );
  assert.equal(worker.files.get(MODULES.path), MODULES.content);
  assert.equal(worker.files.get(SYSCTL.path), SYSCTL.content);
  assert.deepEqual(c.touched(), ["worker-1"]);
});

test("without hostnamectl (a minimal container) the hostname is written and set directly", async () => {
  const c = await fakeCluster(plan, { "worker-1": { ...preparedNode(plan, "worker-1"), hostname: "debian" } });
  const worker = c.node("worker-1").on(["hostname", "worker-1"]);
  await configureOsPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, [FRESH_CHANGES[0]]);
  assert.deepEqual(worker.commands(), [
    ["hostnamectl", "set-hostname", "worker-1"],
    ["hostname", "worker-1"],
  ]);
  assert.deepEqual(worker.writes(), ["/etc/hostname"]);
  assert.equal(worker.files.get("/etc/hostname"), "worker-1\n");
});

test("a module whose feature is built in (seen in /proc) is not loaded", async () => {
  const prepared = preparedNode(plan, "worker-1");
  const c = await fakeCluster(plan, { "worker-1": { ...prepared, modules: [] } });
  await configureOsPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, []);
});

test("a dry run records the same changes and runs and writes nothing", async () => {
  const c = await freshWorker(true);
  await configureOsPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, FRESH_CHANGES);
  assert.deepEqual(c.touched(), []);
  assert.ok(c.lines.every((l) => l.startsWith("worker-1: would ")));
});

test("a module that cannot be loaded fails the step on that node, with modprobe's words", async () => {
  const c = await freshWorker();
  const worker = c.node("worker-1");
  worker.on(["hostnamectl", REST]).on(["swapoff", "-a"]).on(["modprobe", "overlay"]);
  worker.on(["modprobe", "br_netfilter"], {
    code: 1,
    stderr: "modprobe: FATAL: Module br_netfilter not found in directory /lib/modules/6.1.0-37-amd64\n",
  });
  await assert.rejects(configureOsPhase.run(c.ctx), (e: Error) => {
    assert.ok(e instanceof HostsError);
    assert.match(
      e.message,
      /^failed on 1 of 3 hosts:\n - worker-1: `modprobe br_netfilter` exited 1:\n\s+modprobe: FATAL: Module br_netfilter not found/,
    );
    return true;
  });
  // It stopped there: the sysctl file is not written once a module failed.
  assert.equal(c.node("worker-1").files.has(SYSCTL.path), false);
});
