// Baked nspawn node images, the parts that need no machine: the key follows exactly what
// decides an image's contents (as the vagrant box's does, with the release for the box), and
// sealing a root filesystem takes away everything of the machine it was baked on.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { planWith } from "../../../test/helpers/fixtures.js";
import { bakePlan, networkOf } from "../../plan/bake.js";
import { bakeKey } from "../vagrant/baked-boxes.js";
import {
  bakedImageLinked,
  bakedImageRoot,
  findBakedImage,
  forgetBakedImage,
  LINKED_TREES,
  nodeImageKey,
  sealNodeRoot,
  storeBakedImage,
} from "./baked-images.js";

// biome-ignore lint/suspicious/noExplicitAny: the raw cluster file, changed in place
type Raw = Record<string, any>;
const nspawn = (change: (raw: Raw) => void = () => {}) =>
  planWith((raw: Raw) => {
    raw.provider = { name: "nspawn" };
    change(raw);
  });

test("the node image key changes with the release and every version, and with nothing else", () => {
  const base = nodeImageKey(nspawn());
  assert.match(base, /^[0-9a-f]{64}$/);
  assert.equal(nodeImageKey(nspawn()), base, "stable");
  const same = nspawn((raw) => {
    raw.metadata.name = "other";
    raw.nodes[1].count = 5;
    raw.network = { cidr: "10.77.0.0/24" };
    raw.addons.metallb.pools = ["10.77.0.46-10.77.0.56"];
  });
  assert.equal(nodeImageKey(same), base, "names, counts and addresses are not in it");
  const different: Record<string, (raw: Raw) => void> = {
    release: (raw) => {
      raw.provider.release = "trixie";
    },
    kubernetes: (raw) => {
      raw.kubernetes.version = "v1.36.3";
    },
    "no linkerd": (raw) => {
      raw.addons.linkerd = { enabled: false };
    },
    "the dashboard": (raw) => {
      raw.addons.ui = "dashboard";
    },
  };
  for (const [what, change] of Object.entries(different))
    assert.notEqual(nodeImageKey(nspawn(change)), base, `${what} must change the key`);
  assert.notEqual(nodeImageKey(nspawn()), bakeKey(planWith()), "a node image is not a box");
  assert.throws(() => nodeImageKey(planWith()), /nspawn/);
});

test("the baking node on a network of its own: the first address after the host's, no VIP", () => {
  const plan = nspawn((raw) => {
    raw.nodes[0].count = 3;
    raw.controlPlane = { endpoint: { vip: "192.168.56.254" } };
  });
  const b = bakePlan(plan, networkOf("10.254.240.0/29"));
  assert.equal(b.name, `${plan.name}-bake`);
  assert.equal(b.vip, undefined);
  assert.equal(b.network.gateway, "10.254.240.1");
  assert.deepEqual(
    b.nodes.map((n) => [n.name, n.role, n.ip]),
    [["bake", "control-plane", "10.254.240.2"]],
  );
  assert.equal(nodeImageKey(b), nodeImageKey(plan), "the baking node's image is the cluster's");
  assert.throws(() => networkOf("10.0.0.0/31"), /not a network with room/);
});

test("sealing a baked root takes away the machine's identity, login key, label, journal and spool", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "kubelab-seal-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const files: Record<string, string> = {
    "etc/machine-id": "0123456789abcdef0123456789abcdef\n",
    "etc/hostname": "bake\n",
    "etc/ssh/ssh_host_ed25519_key": "private",
    "etc/ssh/ssh_host_ed25519_key.pub": "public",
    "etc/ssh/sshd_config": "kept",
    "root/.ssh/authorized_keys": "ssh-ed25519 AAAA cluster",
    "etc/kubelab/node.json": "{}",
    "etc/kubelab/image.json": "kept",
    "etc/systemd/network/10-kubelab-host0.network": "[Match]",
    "var/cache/kubelab/images/x.tar": "spool",
    "var/log/journal/0123/system.journal": "journal",
    "var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db": "kept",
    "usr/bin/kubeadm": "kept",
  };
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  await sealNodeRoot(root);
  await sealNodeRoot(root); // twice: the same result
  assert.equal(await readFile(join(root, "etc/machine-id"), "utf8"), "");
  assert.equal(await readFile(join(root, "etc/hostname"), "utf8"), "localhost\n");
  assert.equal(await readlink(join(root, "var/lib/dbus/machine-id")), "/etc/machine-id");
  assert.deepEqual(await readdir(join(root, "etc/ssh")), ["sshd_config"]);
  for (const gone of [
    "root/.ssh/authorized_keys",
    "etc/kubelab/node.json",
    "etc/systemd/network/10-kubelab-host0.network",
  ])
    assert.ok(!existsSync(join(root, gone)), gone);
  assert.deepEqual(await readdir(join(root, "var/cache/kubelab")), []);
  assert.deepEqual(await readdir(join(root, "var/log/journal")), []);
  for (const kept of [
    "etc/kubelab/image.json",
    "var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db",
    "usr/bin/kubeadm",
  ])
    assert.equal(await readFile(join(root, kept), "utf8"), files[kept], kept);
});

test("storing a baked image: sealed, moved into the cache, containerd's read-only trees kept apart", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-baked-"));
  const saved = process.env.KUBELAB_BAKED_DIR;
  process.env.KUBELAB_BAKED_DIR = join(dir, "cache");
  t.after(async () => {
    if (saved === undefined) delete process.env.KUBELAB_BAKED_DIR;
    else process.env.KUBELAB_BAKED_DIR = saved;
    await rm(dir, { recursive: true, force: true });
  });
  const root = join(dir, "machine", "rootfs");
  const blob = "var/lib/containerd/io.containerd.content.v1.content/blobs/sha256/abc";
  const layer = "var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs/bin/sh";
  for (const [path, text] of [
    ["etc/machine-id", "id\n"],
    ["etc/os-release", "ID=debian\n"],
    [blob, "blob"],
    [layer, "layer"],
    ["var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db", "db"],
  ] as const) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  const plan = nspawn();
  const record = {
    key: nodeImageKey(plan),
    base: "debian-bookworm-v3",
    kubernetes: plan.kubernetes.version,
    containerd: plan.containerd.version,
    images: [],
    created: "2026-12-07T00:00:00.000Z",
  };
  const target = await storeBakedImage(root, record);
  assert.equal(target, bakedImageRoot(record.key));
  assert.ok(!existsSync(root), "moved, not copied");
  assert.deepEqual(await findBakedImage(plan), record);
  assert.equal(await readFile(join(target, "etc/machine-id"), "utf8"), "", "sealed");
  const linked = bakedImageLinked(record.key);
  assert.equal(await readFile(join(linked, blob), "utf8"), "blob");
  assert.equal(await readFile(join(linked, layer), "utf8"), "layer");
  for (const tree of LINKED_TREES) assert.deepEqual(await readdir(join(target, tree)), [], `${tree} left empty`);
  assert.equal(await readFile(join(target, "var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db"), "utf8"), "db");
  await forgetBakedImage(record.key);
  assert.equal(await findBakedImage(plan), undefined);
  assert.ok(!existsSync(join(target, "..")));
});
