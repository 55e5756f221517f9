/**
 * `kubelab image bake` for real, then `kubelab up` from the baked box, both through the CLI
 * with an offline bundle, on vagrant-libvirt + QEMU (software emulation): the baked VM is
 * prepared and holds every image; a node made from the box has almost nothing left to do,
 * and kubeadm makes a one-node cluster on it. Then the online way: images pulled by the VM's
 * containerd through a registry mirror, and two VMs from that box, each with host keys and a
 * login key of its own, none of them the baking VM's. Slow: `npm run test:vagrant`.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { stringify } from "yaml";
import { bundleSource } from "../../src/artifacts/offline-bundle.js";
import { bakeBox } from "../../src/cluster/bake-box.js";
import { clusterDir } from "../../src/plan/cluster-dir.js";
import type { Plan } from "../../src/plan/types.js";
import type { ProviderContext } from "../../src/providers/types.js";
import { bakedBoxName, bakeKey, findBakedBox, forgetBakedBox } from "../../src/providers/vagrant/baked-boxes.js";
import { vagrantProvider } from "../../src/providers/vagrant/provider.js";
import { connectAll, hostKeyPolicy } from "../../src/remote/connect-all.js";
import { fingerprint } from "../../src/remote/known-hosts.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { builtImages } from "../helpers/packages.js";
import { startRegistry } from "../helpers/registry.js";
import { stateHome } from "../helpers/tmp.js";
import { requireTool } from "../helpers/tools.js";
import {
  boxFiles,
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

/**
 * testEnvironment points VAGRANT_HOME (and KUBECONFIG, which the test may set) at the tests',
 * XDG_STATE_HOME at a temporary directory (the cluster index `up` writes),
 * and registers ONE cleanup, run in this order whatever happened: the cluster's VMs, anything
 * libvirt still has of them, the baked box with its pool volume and record, the directory,
 * the environment, and last what `libvirt()` (call it next) started or made.
 */
async function testEnvironment(t: TestContext, plan: Plan, dir: string, ctx: ProviderContext) {
  const saved = { VAGRANT_HOME: process.env.VAGRANT_HOME, KUBECONFIG: process.env.KUBECONFIG };
  process.env.VAGRANT_HOME = TEST_VAGRANT_HOME;
  await stateHome(t);
  let release = async () => {};
  t.after(async () => {
    try {
      await vagrantProvider.destroy(plan, ctx);
    } finally {
      await removeLeftovers(plan);
      await removeBox(bakedBoxName(plan));
      await forgetBakedBox(bakeKey(plan));
      await rm(dir, { recursive: true, force: true });
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      await release();
    }
  });
  return {
    libvirt: async () => {
      release = await ensureLibvirt();
    },
  };
}

test("image bake --bundle makes a box with everything in; up from it has almost nothing left to do and makes the cluster", async (t) => {
  if (!requireVagrantLibvirt(t)) return;
  const { raw, plan } = vagrantTestCluster("b");
  const dir = await mkdtemp(join(tmpdir(), `kubelab-${plan.name}-`));
  const file = join(dir, "kubelab.yaml");
  await writeFile(file, stringify(raw));
  const cdir = clusterDir(plan, file);
  const env = await testEnvironment(t, plan, dir, { clusterDir: cdir, log: () => {} });
  process.env.KUBECONFIG = join(dir, "user-kubeconfig");
  await env.libvirt();
  await ensureTestBox();
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

test("image bake pulls every image with containerd, through a registry mirror; two VMs from the box have them, and keys of their own", async (t) => {
  if (!requireVagrantLibvirt(t)) return;
  const crane = requireTool(t, "crane");
  if (!crane) return;
  const { plan } = vagrantTestCluster("m", 1);
  const dir = await mkdtemp(join(tmpdir(), `kubelab-${plan.name}-`));
  const ctx = { clusterDir: join(dir, "cluster"), log: () => {} };
  await (await testEnvironment(t, plan, dir, ctx)).libvirt();
  await ensureTestBox();
  // Packages from a bundle, images only from the registry: kubeadm's, built here, pushed to a
  // real registry that the VM reaches on this host's lab address.
  const bundle = join(dir, "bundle");
  const manifest = await createTestBundle(t, plan, bundle);
  if (!manifest) return;
  const registry = await startRegistry(t, crane, "0.0.0.0");
  const images = await builtImages();
  for (const image of images) await registry.push(image.path, image.name.slice("registry.k8s.io/".length));
  const lines: string[] = [];
  let since = Date.now();
  const baked = await bakeBox(plan, {
    packages: { ...bundleSource(bundle, manifest), images: [] },
    pull: images.map((i) => i.name),
    mirrors: new Map([["registry.k8s.io", `http://${plan.network.gateway}:${registry.port}`]]),
    log: (l) => lines.push(l),
    status: { start: () => {}, end: () => {} },
  });
  t.diagnostic(`image bake, pulling ${images.length} images through the mirror: ${seconds(since)}`);
  assert.deepEqual(
    baked.images,
    images.map((i) => i.name),
  );
  assert.ok(
    lines.some((l) => l.startsWith("bake: pulling registry.k8s.io/kube-apiserver:")),
    lines.join("\n"),
  );
  const bakeHostKey = lines
    .map((l) => /^bake: removing the baking VM's host keys \(ed25519 (\S+)\)$/.exec(l)?.[1])
    .find(Boolean);
  assert.ok(bakeHostKey, lines.join("\n"));
  // No private key in the box: neither the key Vagrant inserted into the baking VM nor a
  // Vagrantfile that points at one.
  const files = await boxFiles(bakedBoxName(plan));
  assert.ok(
    files.some((f) => f.endsWith("box.img")),
    files.join(", "),
  );
  assert.ok(!files.some((f) => /private_key|\.pem$|id_(rsa|ed25519)$/.test(f)), files.join(", "));
  for (const f of files.filter((f) => f.endsWith("Vagrantfile"))) {
    const text = await readFile(
      join(TEST_VAGRANT_HOME, "boxes", bakedBoxName(plan).replaceAll("/", "-VAGRANTSLASH-"), f),
      "utf8",
    );
    assert.doesNotMatch(text, /private_key_path/, f);
  }

  since = Date.now();
  const machines = await vagrantProvider.create(plan, ctx);
  t.diagnostic(`a VM from the baked box: ${seconds(since)}`);
  const hosts = await connectAll(plan, machines, {
    clusterDir: ctx.clusterDir,
    policy: hostKeyPolicy(),
    concurrency: 1,
  });
  t.after(() => Promise.all([...hosts.values()].map((h) => h.close())));
  const node = hosts.get("master-1");
  assert.ok(node);
  const listed = (await node.run(["ctr", "-n", "k8s.io", "images", "ls", "-q"])).split("\n");
  for (const image of images) assert.ok(listed.includes(image.name), `${image.name} in ${listed.join(", ")}`);
  assert.ok(!listed.some((l) => l.includes(`:${registry.port}/`)), "the mirror's names are gone");

  // Each VM of the box made its own host keys at first boot, and Vagrant gave each a login key
  // of its own (the box accepted only the insecure key, which insert_key replaced).
  const hostKeys: string[] = [];
  for (const name of ["master-1", "worker-1"]) {
    const host = hosts.get(name);
    assert.ok(host, name);
    const pub = (await host.readFile("/etc/ssh/ssh_host_ed25519_key.pub"))?.split(/\s+/)[1];
    assert.ok(pub, `${name} has an ed25519 host key`);
    hostKeys.push(fingerprint(Buffer.from(pub, "base64")));
    const authorized = (await host.run(["cat", "/home/vagrant/.ssh/authorized_keys"])).trim();
    assert.doesNotMatch(authorized, /vagrant insecure public key/, `${name}: the insecure key was replaced`);
  }
  assert.notEqual(hostKeys[0], hostKeys[1], "two VMs of one box have different host keys");
  assert.ok(!hostKeys.includes(bakeHostKey), `neither has the baking VM's host key ${bakeHostKey}`);
  const identities = ["master-1", "worker-1"].map((n) => machines.find((m) => m.node === n)?.endpoint?.privateKeyPath);
  assert.ok(identities[0] && identities[1], JSON.stringify(machines));
  assert.notEqual(identities[0], identities[1]);
  // The key Vagrant inserted into that VM, kept in its machine directory; not one from the box.
  for (const id of identities)
    assert.match(id ?? "", /\/\.vagrant\/machines\/(master|worker)-1\/libvirt\/private_key$/);
  assert.notEqual(await readFile(identities[0], "utf8"), await readFile(identities[1], "utf8"), "login keys differ");

  await vagrantProvider.destroy(plan, ctx);
  assert.deepEqual(await libvirtLeftovers(plan), []);
});
