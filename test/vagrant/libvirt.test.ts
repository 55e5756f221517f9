/**
 * A real `vagrant up` through kubelab's vagrant provider: vagrant-libvirt, libvirt and QEMU
 * (software emulation: no usable KVM on these machines), on the box built from a debootstrap
 * rootfs. The VM boots, kubelab reaches it at the endpoint `vagrant ssh-config` gives and
 * prepares it for kubeadm, a second run changes nothing, and destroy leaves no domain and no
 * network. Slow (minutes): `npm run test:vagrant`. Timings are printed as diagnostics.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { hostKeyPolicy, up } from "../../src/cluster/up.js";
import type { ProviderContext } from "../../src/providers/types.js";
import { runVagrant } from "../../src/providers/vagrant/cli.js";
import { vagrantProvider } from "../../src/providers/vagrant/provider.js";
import { parseSshConfig } from "../../src/providers/vagrant/ssh-config.js";
import { connectAll } from "../../src/remote/connect-all.js";
import { buildTestPackages, preparationOptions, serveDirectory } from "../helpers/packages.js";
import {
  ensureLibvirt,
  ensureTestBox,
  libvirtLeftovers,
  removeLeftovers,
  requireVagrantLibvirt,
  TEST_VAGRANT_HOME,
  vagrantTestCluster,
} from "../helpers/vagrant.js";

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

test("vagrant up (libvirt + QEMU): kubelab reaches the VM from vagrant ssh-config and prepares it; destroy leaves nothing", async (t) => {
  if (!requireVagrantLibvirt(t)) return;
  const { plan } = vagrantTestCluster("v");
  const clusterDir = await mkdtemp(join(tmpdir(), `kubelab-${plan.name}-`));
  const lines: string[] = [];
  const ctx: ProviderContext = { clusterDir, log: (l) => lines.push(l) };
  const savedHome = process.env.VAGRANT_HOME;
  process.env.VAGRANT_HOME = TEST_VAGRANT_HOME;
  let release = async () => {};
  // One hook, in order: the VM, then what libvirt needed for it.
  t.after(async () => {
    try {
      await vagrantProvider.destroy(plan, ctx);
    } finally {
      await removeLeftovers(plan);
      await rm(clusterDir, { recursive: true, force: true });
      if (savedHome === undefined) delete process.env.VAGRANT_HOME;
      else process.env.VAGRANT_HOME = savedHome;
      await release();
    }
  });
  release = await ensureLibvirt();
  let since = Date.now();
  await ensureTestBox();
  t.diagnostic(`box ready in ${seconds(since)}`);

  since = Date.now();
  const machines = await vagrantProvider.create(plan, ctx);
  t.diagnostic(`vagrant up of ${plan.nodes.length} VM (boot included): ${seconds(since)}`);
  assert.deepEqual(
    machines.map((m) => [m.node, m.state]),
    [["master-1", "running"]],
    lines.join("\n"),
  );
  const endpoint = machines[0]?.endpoint;
  assert.ok(endpoint, "a running machine has an SSH endpoint");
  assert.equal(endpoint.user, "vagrant");
  assert.deepEqual([endpoint.host, endpoint.port], [plan.nodes[0]?.ip, 22], "reached at its lab address");
  assert.ok(endpoint.privateKeyPath?.startsWith(clusterDir), endpoint.privateKeyPath);
  // vagrant's own ssh-config of the running VM, parsed: the user and key kubelab logs in with.
  const sshConfig = (await runVagrant(["ssh-config"], { clusterDir })).stdout;
  t.diagnostic(`vagrant ssh-config:\n${sshConfig}`);
  const parsed = parseSshConfig(sshConfig).get("master-1");
  assert.ok(parsed, sshConfig);
  assert.match(parsed.hostName, /^192\.168\.121\.\d+$/, "the management network's address");
  assert.deepEqual([parsed.user, parsed.port, parsed.identityFiles[0]], ["vagrant", 22, endpoint.privateKeyPath]);
  assert.ok(
    lines.some((l) => l.startsWith("master-1")),
    `vagrant's lines reach kubelab's per-node lines:\n${lines.join("\n")}`,
  );

  const pkgs = await buildTestPackages(plan);
  // The host's address on the lab network exists now: vagrant-libvirt made the network.
  const served = await serveDirectory(pkgs.aptDir, plan.network.gateway);
  t.after(served.close);
  const opts = { ...preparationOptions(pkgs, served.url, clusterDir), provider: vagrantProvider };
  since = Date.now();
  const first = await up(plan, opts);
  t.diagnostic(`node preparation: ${seconds(since)}, ${first.changes.length} changes`);
  assert.ok(first.changes.length >= 5, opts.lines.join("\n"));

  const hosts = await connectAll(plan, machines, { clusterDir, policy: hostKeyPolicy(), concurrency: 1 });
  t.after(() => Promise.all([...hosts.values()].map((h) => h.close())));
  const r = hosts.get("master-1");
  assert.ok(r);
  const node = plan.nodes[0];
  assert.ok(node);
  assert.match(await r.run(["containerd", "config", "dump"]), /SystemdCgroup = true/);
  assert.equal((await r.run(["systemctl", "is-active", "containerd"])).trim(), "active");
  assert.equal((await r.readFile("/etc/default/kubelet"))?.trim(), `KUBELET_EXTRA_ARGS=--node-ip=${node.ip}`);
  assert.match(await r.run(["ip", "-o", "-4", "addr", "show", "eth1"]), new RegExp(`inet ${node.ip}/24`));
  assert.equal((await r.run(["hostname"])).trim(), "master-1");
  assert.equal((await r.run(["tail", "-n", "+2", "/proc/swaps"])).trim(), "");

  since = Date.now();
  const second = await up(plan, opts);
  t.diagnostic(`second run: ${seconds(since)}`);
  assert.deepEqual(second.changes, [], "a second run on an unchanged plan changes nothing");

  // kubelab stop and start on vagrant: `vagrant halt`, then `vagrant up` of the halted VM,
  // which comes back with its disk, its lab address and its host keys.
  await Promise.all([...hosts.values()].map((h) => h.close()));
  hosts.clear();
  since = Date.now();
  await vagrantProvider.stop(plan, ["master-1"], ctx);
  t.diagnostic(`vagrant halt: ${seconds(since)}`);
  assert.deepEqual(
    (await vagrantProvider.list(plan, ctx)).map((m) => m.state),
    ["stopped"],
  );
  since = Date.now();
  await vagrantProvider.start(plan, ["master-1"], ctx);
  t.diagnostic(`vagrant up of the halted VM: ${seconds(since)}`);
  const restarted = await vagrantProvider.list(plan, ctx);
  assert.deepEqual(
    restarted.map((m) => m.state),
    ["running"],
  );
  const again = await connectAll(plan, restarted, { clusterDir, policy: hostKeyPolicy(), concurrency: 1 });
  t.after(() => Promise.all([...again.values()].map((h) => h.close())));
  const back = again.get("master-1");
  assert.ok(back, "the same host key and address after the restart");
  assert.equal((await back.readFile("/etc/default/kubelet"))?.trim(), `KUBELET_EXTRA_ARGS=--node-ip=${node.ip}`);
  assert.match(await back.run(["ip", "-o", "-4", "addr", "show", "eth1"]), new RegExp(`inet ${node.ip}/24`));
  await Promise.all([...again.values()].map((h) => h.close()));

  // A snapshot of the halted VM (`vagrant snapshot save`), a file written after it, and the
  // restore (`vagrant snapshot restore`): the file is gone, the VM as it was.
  const snapshots = vagrantProvider.snapshot;
  assert.ok(snapshots, "the vagrant provider takes snapshots");
  await vagrantProvider.stop(plan, ["master-1"], ctx);
  since = Date.now();
  await snapshots.save(plan, "s1", ["master-1"], ctx);
  t.diagnostic(`vagrant snapshot save: ${seconds(since)}`);
  assert.deepEqual(await snapshots.list(plan, "master-1", ctx), ["s1"]);
  await vagrantProvider.start(plan, ["master-1"], ctx);
  const written = await connectAll(plan, await vagrantProvider.list(plan, ctx), {
    clusterDir,
    policy: hostKeyPolicy(),
    concurrency: 1,
  });
  await written.get("master-1")?.run(["sh", "-c", "echo after > /root/after-snapshot && sync"]);
  await Promise.all([...written.values()].map((h) => h.close()));
  await vagrantProvider.stop(plan, ["master-1"], ctx, { discard: true });
  since = Date.now();
  await snapshots.restore(plan, "s1", ["master-1"], ctx);
  t.diagnostic(`vagrant snapshot restore: ${seconds(since)}`);
  await vagrantProvider.start(plan, ["master-1"], ctx);
  const restored = await connectAll(plan, await vagrantProvider.list(plan, ctx), {
    clusterDir,
    policy: hostKeyPolicy(),
    concurrency: 1,
  });
  t.after(() => Promise.all([...restored.values()].map((h) => h.close())));
  const node1 = restored.get("master-1");
  assert.ok(node1);
  assert.equal((await node1.exec(["test", "-e", "/root/after-snapshot"])).code, 1, "the file written after s1 is gone");
  assert.equal((await node1.readFile("/etc/default/kubelet"))?.trim(), `KUBELET_EXTRA_ARGS=--node-ip=${node.ip}`);
  await Promise.all([...restored.values()].map((h) => h.close()));
  await snapshots.delete(plan, "s1", ["master-1"], ctx);
  assert.deepEqual(await snapshots.list(plan, "master-1", ctx), []);

  since = Date.now();
  await vagrantProvider.destroy(plan, ctx);
  t.diagnostic(`destroy: ${seconds(since)}`);
  assert.deepEqual(await libvirtLeftovers(plan), []);
  assert.deepEqual(
    (await vagrantProvider.list(plan, ctx)).map((m) => m.state),
    ["absent"],
  );
});
