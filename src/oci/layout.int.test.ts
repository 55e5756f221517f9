// OCI layers and image archives read back by GNU tar, the independent reader: a layer extracts
// with its modes, links, long names and owners; an image archive is a valid OCI image layout.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { lstat, mkdir, readFile, readlink, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { promisify } from "node:util";
import { ENTRIES, LONG } from "../../test/helpers/oci-entries.js";
import { need } from "../../test/helpers/prereq.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { findOnPath } from "../../test/helpers/tools.js";
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  buildImage,
  buildLayer,
  type ImageSpec,
  layerTar,
  MEDIA_TYPES,
  ociDigest,
  writeImageArchive,
} from "./layout.js";

const execFileP = promisify(execFile);

/** GNU tar is the independent reader: the layers must be plain tars any tool extracts. */
function requireTar(t: TestContext): string | undefined {
  const tar = findOnPath("tar");
  if (need(t, "GNU tar", tar !== undefined, "apt-get install tar")) return tar;
  return undefined;
}

test("layerTar: sorted, parents added, GNU tar extracts modes, links, long names and owners", async (t) => {
  const tar = requireTar(t);
  if (!tar) return;
  const dir = await tempDir(t);
  const bytes = layerTar(ENTRIES);
  assert.equal(bytes.length % 512, 0);
  await writeFile(join(dir, "layer.tar"), bytes);

  const { stdout } = await execFileP(tar, ["-tf", join(dir, "layer.tar")]);
  assert.deepEqual(stdout.trim().split("\n"), [
    "bin",
    "coredns",
    "deep/",
    `deep/${"d".repeat(60)}/`,
    `deep/${"d".repeat(60)}/${"e".repeat(60)}/`,
    LONG,
    "etc/",
    "etc/big-ids",
    "etc/passwd",
    "tmp/",
    "usr/",
    "usr/local/",
    "usr/local/bin/",
    "usr/local/bin/tool",
    "usr/local/bin/tool-again",
  ]);

  const root = join(dir, "root");
  await mkdir(root);
  const owners = process.getuid?.() === 0 ? ["--same-owner", "--numeric-owner"] : [];
  await execFileP(tar, ["-xpf", join(dir, "layer.tar"), "-C", root, ...owners]);
  assert.equal((await stat(join(root, "usr/local/bin/tool"))).mode & 0o7777, 0o755);
  assert.equal((await stat(join(root, "etc/passwd"))).mode & 0o7777, 0o644);
  assert.equal((await stat(join(root, "tmp"))).mode & 0o7777, 0o1777);
  assert.equal((await stat(join(root, "usr"))).mode & 0o7777, 0o755, "an implicit parent is 0755");
  assert.equal(await readlink(join(root, "bin")), "usr/bin");
  assert.equal(
    (await stat(join(root, "usr/local/bin/tool-again"))).ino,
    (await stat(join(root, "usr/local/bin/tool"))).ino,
    "a hard link",
  );
  assert.deepEqual(await readFile(join(root, LONG)), Buffer.alloc(1000, 7));
  if (owners.length > 0) {
    assert.equal((await lstat(join(root, LONG))).uid, 65532);
    const big = await lstat(join(root, "etc/big-ids"));
    assert.deepEqual([big.uid, big.gid], [3_000_000, 3_000_001]);
  }
});

test("buildImage: an OCI image layout tar; index.json names the image as containerd's exporter does", async (t) => {
  const tar = requireTar(t);
  if (!tar) return;
  const dir = await tempDir(t);
  const layer = await buildLayer(ENTRIES);
  const spec: ImageSpec = {
    name: "registry.k8s.io/kube-apiserver:v1.37.2",
    arch: "amd64",
    layers: [layer],
    config: {
      entrypoint: ["/usr/local/bin/kube-apiserver"],
      env: ["PATH=/usr/local/bin:/usr/bin"],
      user: "0:0",
      workingDir: "/",
      cmd: ["--help"],
    },
  };
  const image = buildImage(spec);
  assert.equal(buildImage(spec).manifestDigest, image.manifestDigest, "deterministic");
  const file = join(dir, "image.tar");
  const digest = await writeImageArchive(file, image);
  assert.equal(digest, ociDigest(await readFile(file)));
  assert.equal((await stat(file)).size, image.size);

  const out = join(dir, "out");
  await mkdir(out);
  await execFileP(tar, ["-xf", file, "-C", out]);
  assert.deepEqual(JSON.parse(await readFile(join(out, "oci-layout"), "utf8")), { imageLayoutVersion: "1.0.0" });
  const blobPath = (d: string) => join(out, "blobs/sha256", d.replace(/^sha256:/, ""));
  const readBlob = async (d: string) => {
    const b = await readFile(blobPath(d));
    assert.equal(ociDigest(b), d, "a blob's file name is its digest");
    return b;
  };

  const index = JSON.parse(await readFile(join(out, "index.json"), "utf8"));
  assert.equal(index.schemaVersion, 2);
  assert.equal(index.mediaType, MEDIA_TYPES.index);
  assert.equal(index.manifests.length, 1);
  const m = index.manifests[0];
  assert.equal(m.mediaType, MEDIA_TYPES.manifest);
  assert.equal(m.digest, image.manifestDigest);
  assert.deepEqual(m.platform, { architecture: "amd64", os: "linux" });
  assert.deepEqual(m.annotations, {
    [ANNOTATION_IMAGE_NAME]: "registry.k8s.io/kube-apiserver:v1.37.2",
    [ANNOTATION_REF_NAME]: "v1.37.2",
  });

  const manifest = JSON.parse((await readBlob(m.digest)).toString());
  assert.equal(m.size, (await readBlob(m.digest)).length);
  assert.equal(manifest.mediaType, MEDIA_TYPES.manifest);
  assert.equal(manifest.config.mediaType, MEDIA_TYPES.config);
  assert.deepEqual(manifest.layers, [{ mediaType: MEDIA_TYPES.layerGzip, digest: layer.digest, size: layer.size }]);
  assert.deepEqual(await readBlob(layer.digest), layer.data);

  const config = JSON.parse((await readBlob(manifest.config.digest)).toString());
  assert.deepEqual(config, {
    architecture: "amd64",
    os: "linux",
    config: {
      User: "0:0",
      Env: ["PATH=/usr/local/bin:/usr/bin"],
      Entrypoint: ["/usr/local/bin/kube-apiserver"],
      Cmd: ["--help"],
      WorkingDir: "/",
    },
    rootfs: { type: "layers", diff_ids: [layer.diffId] },
  });

  assert.throws(() => buildImage({ ...spec, name: "registry.k8s.io/kube-apiserver" }), /has no tag/);
});
