/**
 * `kubelab image bake` for real, then `kubelab up` from the baked box, both through the CLI
 * with an offline bundle, on vagrant-libvirt + QEMU (software emulation): the baked VM is
 * prepared and holds every image; a node made from the box has almost nothing left to do,
 * and kubeadm makes a one-node cluster on it. Slow: `npm run test:vagrant`.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { stringify } from "yaml";
import { connectAll, hostKeyPolicy } from "../../src/cluster/connect.js";
import { clusterDir } from "../../src/cluster/dir.js";
import { bakedBoxName, bakeKey, findBakedBox, forgetBakedBox } from "../../src/providers/vagrant/bake.js";
import { vagrantProvider } from "../../src/providers/vagrant/provider.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import {
  ensureLibvirt,
  ensureTestBox,
  libvirtLeftovers,
  removeBox,
  removeLeftovers,
  requireVagrantLibvirt,
  TEST_VAGRANT_HOME,
  vagrantTestCluster,
} from "../helpers/vagrant.js";

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

test("image bake --bundle makes a box with everything in; up from it has almost nothing left to do and makes the cluster", async (t) => {
  if (!requireVagrantLibvirt(t)) return;
  await ensureLibvirt(t);
  const saved = { home: process.env.VAGRANT_HOME, kubeconfig: process.env.KUBECONFIG };
  process.env.VAGRANT_HOME = TEST_VAGRANT_HOME;
  const { raw, plan } = vagrantTestCluster("b");
  const dir = await mkdtemp(join(tmpdir(), `kubelab-${plan.name}-`));
  process.env.KUBECONFIG = join(dir, "user-kubeconfig");
  t.after(async () => {
    for (const [k, v] of [
      ["VAGRANT_HOME", saved.home],
      ["KUBECONFIG", saved.kubeconfig],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  });
  await ensureTestBox();
  const file = join(dir, "kubelab.yaml");
  await writeFile(file, stringify(raw));
  const cdir = clusterDir(plan, file);
  t.after(async () => {
    try {
      await vagrantProvider.destroy(plan, { clusterDir: cdir, log: () => {} });
    } finally {
      await removeLeftovers(plan);
      await removeBox(bakedBoxName(plan));
      await forgetBakedBox(bakeKey(plan));
      await rm(dir, { recursive: true, force: true });
    }
  });
  const bundle = join(dir, "bundle");
  if (!(await createTestBundle(t, plan, bundle))) return;

  let since = Date.now();
  const baked = await kubelab("image", "bake", "-f", file, "--bundle", bundle);
  t.diagnostic(`image bake: ${seconds(since)}`);
  assert.equal(baked.code, 0, `${baked.out}\n${baked.err}`);
  assert.match(
    baked.out,
    new RegExp(`baked box ${bakedBoxName(plan)}: kubelab-dev/debian-12 with Kubernetes v1\\.37\\.2`),
  );
  const record = await findBakedBox(plan);
  assert.ok(record, "the baked box is recorded and Vagrant has it");
  assert.ok(
    record.images.some((i) => i.includes("kube-apiserver")),
    record.images.join(", "),
  );
  assert.deepEqual(await libvirtLeftovers({ ...plan, name: `${plan.name}-bake` }), [], "the baking VM is gone");

  since = Date.now();
  const up = await kubelab("up", "-f", file, "--bundle", bundle, "--no-kubeconfig", "--verbose");
  t.diagnostic(`up from the baked box (VM, preparation, kubeadm init): ${seconds(since)}`);
  assert.equal(up.code, 0, `${up.out}\n${up.err}`);
  const changes = Number(/(\d+) changes? made/.exec(up.out)?.[1]);
  t.diagnostic(`changes on a node from the baked box: ${changes}`);
  // Left to do: the node's own files (/etc/hosts, kubelet's node-ip, kubeadm's configuration...),
  // containerd restarted for them, and kubeadm init; nothing installed, no image imported.
  assert.ok(changes <= 6, up.out);
  assert.match(up.err, /new machines come from the baked box/);
  assert.match(up.err, /master-1: kubeadm init/, "--verbose prints every change");
  assert.doesNotMatch(up.err, /master-1: (install|import) /, "a node from the baked box installs and imports nothing");

  const machines = await vagrantProvider.list(plan, { clusterDir: cdir, log: () => {} });
  const hosts = await connectAll(plan, machines, { clusterDir: cdir, policy: hostKeyPolicy(), concurrency: 1 });
  t.after(() => Promise.all([...hosts.values()].map((h) => h.close())));
  const node = hosts.get("master-1");
  assert.ok(node);
  assert.match(
    await node.run(["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "get", "nodes", "-o", "name"]),
    /^node\/master-1$/m,
  );
  // Its own machine-id, not the baked VM's: clones must not share DHCP client ids.
  assert.match((await node.run(["cat", "/etc/machine-id"])).trim(), /^[0-9a-f]{32}$/);

  since = Date.now();
  const down = await kubelab("down", "-f", file, "--force");
  t.diagnostic(`down: ${seconds(since)}`);
  assert.equal(down.code, 0, `${down.out}\n${down.err}`);
  assert.deepEqual(await libvirtLeftovers(plan), []);
});
