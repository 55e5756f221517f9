/**
 * `kubelab image bake` for nspawn, end to end on real machines: a baked node image made from
 * an offline bundle holds the packages and the images and nothing of the machine it was baked
 * on; `up` makes every new node from it, prepares them without installing or importing
 * anything, and the cluster comes up with nodes that each have an identity of their own.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import { kubeConfig, listNodes, waitNodes } from "../../src/kube/client.js";
import {
  bakedImageLinked,
  bakedImageRoot,
  findBakedImage,
  forgetBakedImage,
  LINKED_TREES,
} from "../../src/providers/nspawn/baked-images.js";
import { nodePaths } from "../../src/providers/nspawn/machine.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { cliScenario, connectNodes } from "../helpers/cli-scenario.js";
import { NO_ADDONS, nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";
import { installTestCni } from "../helpers/test-cni.js";

describe("image bake (nspawn)", () => {
  it("bakes a node image from a bundle; up makes nodes of it that install and import nothing", async (t) => {
    if (!requireNspawn(t)) return;
    const { raw, plan } = nspawnTestCluster("bake", { workers: 1 }, { addons: NO_ADDONS });
    const { dir, file, kubeconfig, hosts } = await cliScenario(t, "bake-nspawn");
    // This test's baked images only: another test running beside it must not find them.
    const saved = process.env.KUBELAB_BAKED_DIR;
    process.env.KUBELAB_BAKED_DIR = join(dir, "baked");
    t.after(async () => {
      const baked = await findBakedImage(plan).catch(() => undefined);
      if (baked) await forgetBakedImage(baked.key);
      if (saved === undefined) delete process.env.KUBELAB_BAKED_DIR;
      else process.env.KUBELAB_BAKED_DIR = saved;
    });
    await writeFile(file, stringify(raw));
    const bundle = join(dir, "bundle");
    if (!(await createTestBundle(t, plan, bundle))) return;
    const step = steps(t);

    await step("image bake makes the node image and records it", async () => {
      const r = await kubelab("image", "bake", "-f", file, "--bundle", bundle);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      assert.match(
        r.out,
        /baked node image [0-9a-f]{12}: debian-bookworm-v\d+ with Kubernetes v[\d.]+, containerd v[\d.]+ and \d+ images/,
      );
      const baked = await findBakedImage(plan);
      assert.ok(baked, "the record");
      assert.ok(baked.images.includes(plan.kubernetes.images.pause), baked.images.join(", "));
    });

    await step("the image holds the packages and containerd's images, and nothing of the baking machine", async () => {
      const baked = await findBakedImage(plan);
      assert.ok(baked);
      const root = bakedImageRoot(baked.key);
      for (const bin of ["usr/bin/kubeadm", "usr/bin/kubelet", "usr/bin/kubectl", "usr/local/bin/containerd"])
        assert.ok(existsSync(join(root, bin)), bin);
      assert.ok(
        existsSync(join(root, "var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db")),
        "containerd's metadata",
      );
      assert.equal(await readFile(join(root, "etc/machine-id"), "utf8"), "");
      assert.deepEqual(
        (await readdir(join(root, "etc/ssh"))).filter((f) => f.startsWith("ssh_host_")),
        [],
        "no host keys",
      );
      assert.ok(!existsSync(join(root, "root/.ssh/authorized_keys")), "no login key");
      assert.ok(!existsSync(join(root, "etc/kubelab/node.json")), "no node label");
      assert.deepEqual(await readdir(join(root, "var/cache/kubelab")).catch(() => []), [], "no spool");
    });

    await step("up makes every node from it: nothing installed, nothing imported", async () => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle, "-o", "json");
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      const result = JSON.parse(r.out) as { changes: { node: string; what: string }[]; log: string };
      const runLog = await readFile(result.log, "utf8");
      assert.match(runLog, /new nodes come from the baked node image [0-9a-f]{12}/);
      const heavy = result.changes.filter((c) => /^(import |install |unpack )/.test(c.what));
      assert.deepEqual(heavy, [], "no package installed, no image imported");
    });

    await step("the nodes share containerd's images with the baked image through hard links", async () => {
      const baked = await findBakedImage(plan);
      assert.ok(baked);
      const blobs = join(bakedImageLinked(baked.key), LINKED_TREES[0] as string, "sha256");
      const blob: string = (await readdir(blobs))[0] ?? "";
      assert.ok(blob, `a blob in ${blobs}`);
      const inImage = await stat(join(blobs, blob));
      for (const n of plan.nodes) {
        const inNode = await stat(join(nodePaths(plan.name, n.name).rootfs, LINKED_TREES[0] as string, "sha256", blob));
        assert.equal(inNode.ino, inImage.ino, `${n.name}: the same file`);
      }
      assert.ok(inImage.nlink >= plan.nodes.length + 1, `links: ${inImage.nlink}`);
    });

    await step("each node has its own machine-id and host keys; every node Ready", async () => {
      await connectNodes(plan, { file, hosts });
      const ids = new Set<string>();
      const keys = new Set<string>();
      for (const n of plan.nodes) {
        const h = hosts.get(n.name);
        assert.ok(h);
        ids.add((await h.run(["cat", "/etc/machine-id"])).trim());
        keys.add((await h.run(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])).trim());
        assert.equal((await h.run(["hostname"])).trim(), n.name);
      }
      assert.equal(ids.size, plan.nodes.length, "machine-ids");
      assert.equal(keys.size, plan.nodes.length, "host keys");
      assert.ok(![...ids].includes(""), "a machine-id each");
      const kc = kubeConfig(await readFile(kubeconfig, "utf8"));
      await installTestCni(plan, hosts, await listNodes(kc));
      await waitNodes(
        kc,
        plan.nodes.map((n) => n.name),
        { ready: true, timeoutMs: 240_000 },
      );
    });

    await step("a second up changes nothing", async () => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle, "-o", "json");
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      assert.deepEqual((JSON.parse(r.out) as { changes: unknown[] }).changes, []);
    });
  });
});
