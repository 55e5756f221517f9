// Import images from an offline bundle into fake nodes: only images a node's containerd lacks,
// control-plane images on control planes only; a dry run only lists what is there.
import assert from "node:assert/strict";
import { test } from "node:test";
import { byNode, fakeCluster, fakeStore } from "../../test/helpers/fake-node.js";
import type { FakeRemote } from "../../test/helpers/fake-remote.js";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import { type PackageSource, pinnedContainerdFiles } from "../artifacts/package-source.js";
import { kubeadmImages } from "../plan/kubeadm-images.js";
import { HostsError } from "../remote/hosts.js";
import { controlPlaneOnly, importImagesPhase } from "./images.js";

const plan = defaultPlan();
const LIST = ["ctr", "-n", "k8s.io", "images", "ls", "-q"];
const ALL = kubeadmImages(plan);
const EVERYWHERE = ALL.filter((i) => !controlPlaneOnly(plan).has(i));
const archives = ALL.map((name, i) => ({
  name,
  file: { url: `https://example.invalid/images/${i}.tar`, sha256: String(i).repeat(64) },
}));
const packages: PackageSource = {
  kubernetes: { debs: [] },
  artifacts: fakeStore(),
  images: archives,
  containerdFiles: pinnedContainerdFiles,
};
const spool = (name: string) => `/var/cache/kubelab/images/${archives.find((a) => a.name === name)?.file.sha256}.tar`;

/** Nodes whose containerd lists `have` (every image when not given per node). */
async function cluster(have: Record<string, readonly string[]> = {}, dryRun = false) {
  const c = await fakeCluster(plan, {}, { packages, dryRun });
  for (const n of c.nodes.values()) {
    n.on(LIST, { stdout: `${(have[n.node] ?? ALL).join("\n")}\n` });
    n.on(["ctr", "-n", "k8s.io", "images", "import", /^\/var\/cache\/kubelab\/images\//]).on(["rm", "-f", /.*/]);
  }
  return c;
}

const importsOf = (node: FakeRemote) =>
  node
    .commands()
    .filter((a) => a[4] === "import")
    .map((a) => a[5]);

test("the phase runs only when the package source brings images", async () => {
  const c = await fakeCluster(plan);
  assert.equal(importImagesPhase.shouldRun?.(c.ctx), false);
  assert.equal(importImagesPhase.shouldRun?.((await cluster()).ctx), true);
});

test("nodes whose containerd has every image only list them", async () => {
  const c = await cluster();
  await importImagesPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, []);
  for (const n of c.nodes.values()) {
    assert.deepEqual(n.calls, [{ kind: "run", argv: LIST, opts: undefined }], n.node);
  }
});

test("missing images are uploaded, imported and removed; workers skip control-plane images", async () => {
  const c = await cluster({ "master-1": [], "worker-1": [ALL[3] as string] });
  await importImagesPhase.run(c.ctx);
  const workerMissing = EVERYWHERE.filter((i) => i !== ALL[3]);
  assert.deepEqual(byNode(c.ctx.changes), {
    "master-1": [`import ${ALL.join(", ")}`],
    "worker-1": [`import ${workerMissing.join(", ")}`],
  });
  assert.deepEqual(importsOf(c.node("master-1")), ALL.map(spool));
  const worker = c.node("worker-1");
  assert.deepEqual(importsOf(worker), workerMissing.map(spool));
  assert.deepEqual(worker.writes(), workerMissing.map(spool));
  assert.deepEqual(worker.commands().at(-1), ["rm", "-f", spool(workerMissing.at(-1) as string)]);
  assert.ok(controlPlaneOnly(plan).has(`registry.k8s.io/kube-apiserver:${plan.kubernetes.version}`));
  assert.deepEqual(c.node("worker-2").commands(), [LIST]);
});

test("a dry run lists images without failing where ctr is missing, and records the same changes", async () => {
  const c = await cluster({ "master-1": [], "worker-1": [ALL[3] as string] }, true);
  c.node("worker-2").on(LIST, { code: 127, stderr: "ctr: command not found\n" });
  await importImagesPhase.run(c.ctx);
  assert.deepEqual(byNode(c.ctx.changes), {
    "master-1": [`import ${ALL.join(", ")}`],
    "worker-1": [`import ${EVERYWHERE.filter((i) => i !== ALL[3]).join(", ")}`],
    "worker-2": [`import ${EVERYWHERE.join(", ")}`],
  });
  for (const n of c.nodes.values()) {
    assert.deepEqual(n.calls, [{ kind: "exec", argv: LIST, opts: undefined }], n.node);
  }
});

test("an image containerd refuses fails the step on that node, with ctr's words", async () => {
  const c = await cluster({ "worker-2": [] });
  c.node("worker-2").on(["ctr", "-n", "k8s.io", "images", "import", /.*/], {
    code: 1,
    stderr: "ctr: content digest sha256:0000: not found\n",
  });
  await assert.rejects(importImagesPhase.run(c.ctx), (e: Error) => {
    assert.ok(e instanceof HostsError);
    assert.match(
      e.message,
      /^failed on 1 of 3 hosts:\n - worker-2: `ctr -n k8s.io images import \/var\/cache\/kubelab\/images\/\S+\.tar` exited 1:\n\s+ctr: content digest/,
    );
    return true;
  });
  assert.equal(importsOf(c.node("worker-2")).length, 1, "stopped at the first failure");
});

test("containerd out of room while importing an image: the node, the image and containerd's root", async () => {
  const c = await cluster({ "worker-1": [] });
  c.node("worker-1").on(["ctr", "-n", "k8s.io", "images", "import", /^\/var\/cache\/kubelab\/images\//], {
    code: 1,
    stderr: "ctr: failed to extract layer sha256:abc: write /var/lib/containerd/tmpmounts/x: no space left on device\n",
  });
  await assert.rejects(importImagesPhase.run(c.ctx), (e: unknown) => {
    assert.ok(e instanceof HostsError);
    assert.match(
      e.message,
      new RegExp(
        `worker-1: no space left on device while importing ${EVERYWHERE[0]?.replaceAll(".", "\\.")} into containerd \\(/var/lib/containerd/\\)`,
      ),
    );
    return true;
  });
});
