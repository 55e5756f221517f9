// Gather facts against fake nodes: one read-only command per node, its answer parsed into the
// facts every later phase decides from; it never changes a node, dry run or not.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fakeCluster, fakeNode, freshNode, HOST_CLOCK_MS, preparedNode } from "../../test/helpers/fake-node.js";
import { FakeRemote, REST } from "../../test/helpers/fake-remote.js";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import { HostsError } from "../remote/hosts.js";
import { FACTS_SCRIPT } from "./facts.js";
import { factQuery, gatherFactsPhase, PACKAGES, SYSCTLS } from "./gather-facts.js";

const plan = defaultPlan();
const unasked = async (dryRun = false) => fakeCluster(plan, {}, { dryRun, gather: false });

test("gather facts asks each node once, read-only, for every file kubelab manages there", async () => {
  const c = await unasked();
  await gatherFactsPhase.run(c.ctx);
  for (const n of plan.nodes) {
    const node = c.node(n.name);
    assert.equal(node.calls.length, 1, n.name);
    const [call] = node.calls;
    assert.equal(call?.kind, "run");
    assert.ok(call?.kind === "run");
    const q = factQuery(c.ctx, n.name);
    assert.deepEqual(call.argv, [
      "sh",
      "-s",
      "--",
      "F",
      ...q.files,
      "--",
      "S",
      ...SYSCTLS,
      "--",
      "P",
      ...PACKAGES,
      "--",
      "U",
      "containerd",
      "kubelet",
    ]);
    assert.equal(call.opts?.stdin, FACTS_SCRIPT);
    assert.ok(q.files.includes("/etc/containerd/config.toml") && q.files.includes("/etc/fstab"));
  }
  assert.deepEqual(c.ctx.changes, []);
});

test("a prepared node's facts say it is prepared", async () => {
  const c = await unasked();
  await gatherFactsPhase.run(c.ctx);
  const f = c.ctx.facts.get("worker-1");
  assert.ok(f);
  const want = preparedNode(plan, "worker-1");
  assert.deepEqual(f.os, { id: "debian", versionId: "12", prettyName: "Debian GNU/Linux 12 (bookworm)" });
  assert.equal(f.hostname, "worker-1");
  assert.deepEqual(f.clock, { node: HOST_CLOCK_MS / 1000, local: HOST_CLOCK_MS / 1000 });
  assert.deepEqual(f.swaps, []);
  assert.deepEqual(f.fstabSwap, []);
  for (const path of factQuery(c.ctx, "worker-1").files) assert.equal(f.files.get(path), want.files[path], path);
  assert.equal(f.sysctls.get("net.ipv4.ip_forward"), "1");
  assert.equal(f.packages.get("kubeadm"), plan.kubernetes.packageVersion);
  assert.equal(f.packages.has("containerd"), false);
  assert.deepEqual(f.held, ["kubeadm", "kubectl", "kubelet"]);
  assert.equal(f.units.get("containerd"), "active");
  assert.equal(f.cgroup, "v2");
  assert.equal(f.container, undefined);
  assert.deepEqual(f.tunnels, { ipip: true, vxlan: true });
  assert.match(f.containerd ?? "", / v2\.\d+\.\d+ /);
});

test("a fresh node's facts name what differs: hostname, swap, missing files and sysctls, clock", async () => {
  const c = await fakeCluster(plan, {}, { gather: false });
  const fresh = {
    ...freshNode(),
    clockSkewSeconds: -45,
    container: "systemd-nspawn",
    cgroup: "v1" as const,
    tunnels: { ipip: false, vxlan: true },
  };
  const node = fakeNode("worker-2", fresh, () => HOST_CLOCK_MS);
  const ctx = { ...c.ctx, hosts: new Map([...c.nodes, ["worker-2", node]]) };
  await gatherFactsPhase.run(ctx);
  const f = ctx.facts.get("worker-2");
  assert.ok(f);
  assert.equal(f.hostname, "debian");
  assert.equal(f.clock.node - f.clock.local, -45);
  assert.deepEqual(f.swaps, ["/swap.img"]);
  assert.deepEqual(f.fstabSwap, ["/swap.img\tnone\tswap\tsw\t0\t0"]);
  assert.equal(f.files.has("/etc/containerd/config.toml"), true);
  assert.equal(f.files.get("/etc/containerd/config.toml"), undefined);
  assert.match(f.files.get("/etc/hosts") ?? "", /127\.0\.1\.1\tdebian/);
  assert.equal(f.sysctls.get("net.bridge.bridge-nf-call-iptables"), undefined, "br_netfilter not loaded");
  assert.equal(f.packages.size, 0);
  assert.equal(f.containerd, undefined);
  assert.equal(f.units.get("kubelet"), "inactive");
  assert.equal(f.cgroup, "v1");
  assert.equal(f.container, "systemd-nspawn");
  assert.deepEqual(f.tunnels, { ipip: false, vxlan: true });
  assert.deepEqual(ctx.changes, []);
});

test("a dry run gathers the same facts with the same read-only command", async () => {
  const real = await unasked();
  const dry = await unasked(true);
  await gatherFactsPhase.run(real.ctx);
  await gatherFactsPhase.run(dry.ctx);
  for (const n of plan.nodes) {
    assert.deepEqual(dry.node(n.name).commands(), real.node(n.name).commands());
    assert.deepEqual(dry.ctx.facts.get(n.name), real.ctx.facts.get(n.name));
    assert.deepEqual(dry.node(n.name).writes(), []);
  }
  assert.deepEqual(dry.ctx.changes, []);
});

test("a node without passwordless sudo fails the step, named, while the others are gathered", async () => {
  const c = await unasked();
  // The SSH remote runs commands through `sudo -n`, which refuses before the script starts.
  const noSudo = new FakeRemote("worker-2").on(["sh", "-s", "--", "F", REST], {
    code: 1,
    stderr: "sudo: a password is required\n",
  });
  const ctx = { ...c.ctx, hosts: new Map([...c.nodes, ["worker-2", noSudo]]) };
  await assert.rejects(gatherFactsPhase.run(ctx), (e: Error) => {
    assert.ok(e instanceof HostsError);
    assert.match(
      e.message,
      /^failed on 1 of 3 hosts:\n - worker-2: `sh -s -- F .*` exited 1:\n\s+sudo: a password is required\n$/,
    );
    return true;
  });
  assert.ok(ctx.facts.has("master-1") && ctx.facts.has("worker-1"));
  assert.equal(ctx.facts.has("worker-2"), false);
});
