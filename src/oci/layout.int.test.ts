import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { link, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { need } from "../../test/helpers/prereq.js";
import { findOnPath } from "../../test/helpers/tools.js";
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  buildImage,
  buildLayer,
  directoryEntries,
  type ImageSpec,
  type LayerEntry,
  layerFromDirectory,
  layerTar,
  MEDIA_TYPES,
  ociDigest,
  referenceTag,
  writeImageArchive,
} from "./layout.js";

const execFileP = promisify(execFile);

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-oci-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** GNU tar is the independent reader: the layers must be plain tars any tool extracts. */
function requireTar(t: TestContext): string | undefined {
  const tar = findOnPath("tar");
  if (need(t, "GNU tar", tar !== undefined, "apt-get install tar")) return tar;
  return undefined;
}

const LONG = `deep/${"d".repeat(60)}/${"e".repeat(60)}/file-with-a-long-name.txt`;
// vfs_cap_data revision 2, effective, permitted = CAP_NET_BIND_SERVICE (what setcap writes).
const CAP = Buffer.from("0100000200040000000000000000000000000000", "hex");

const ENTRIES: LayerEntry[] = [
  { path: "/usr/local/bin/tool", mode: 0o755, content: "#!/bin/sh\necho hi\n" },
  { path: "etc/passwd", content: "root:x:0:0:root:/root:/sbin/nologin\n" },
  { path: "etc/big-ids", content: "", uid: 3_000_000, gid: 3_000_001 }, // beyond ustar's 7 octal digits
  { path: "/tmp", directory: true, mode: 0o1777 },
  { path: "bin", symlink: "usr/bin" },
  { path: "usr/local/bin/tool-again", hardlink: "usr/local/bin/tool" },
  { path: LONG, content: Buffer.alloc(1000, 7), uid: 65532, gid: 65532 },
  { path: "coredns", mode: 0o755, content: "binary", xattrs: { "security.capability": CAP } },
];

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

test("layerTar: xattrs go into a PAX record (how containerd's applier restores file capabilities)", () => {
  const bytes = layerTar([{ path: "coredns", content: "x", xattrs: { "security.capability": CAP } }]);
  const record = Buffer.concat([Buffer.from(" SCHILY.xattr.security.capability="), CAP, Buffer.from("\n")]);
  const at = bytes.indexOf(record);
  assert.ok(at > 0, "the record is there");
  // "<len> key=value\n": <len> counts the whole record, its own digits included.
  const len = Number(bytes.subarray(at - 2, at).toString());
  assert.equal(len, 2 + record.length);
  assert.equal(bytes.toString("latin1", 156, 157), "x", "the first member is the PAX header");
  assert.equal(bytes.toString("latin1", 1024, 1031), "coredns", "then the file itself");
});

test("layerTar: rejects duplicates, '..', files used as directories and forward hard links", () => {
  assert.throws(
    () =>
      layerTar([
        { path: "a", content: "" },
        { path: "/a", content: "" },
      ]),
    /two entries for a/,
  );
  assert.throws(() => layerTar([{ path: "a/../b", content: "" }]), /contains "\.\."/);
  assert.throws(() => layerTar([{ path: "/", directory: true }]), /names the root/);
  assert.throws(
    () =>
      layerTar([
        { path: "a", content: "" },
        { path: "a/b", content: "" },
      ]),
    /not a directory/,
  );
  assert.throws(
    () =>
      layerTar([
        { path: "a", hardlink: "b" },
        { path: "b", content: "" },
      ]),
    /not an earlier entry/,
  );
});

test("buildLayer: deterministic gzip whose content is the tar (diff_id) and whose blob digest is its sha256", async () => {
  const a = await buildLayer(ENTRIES);
  const b = await buildLayer([...ENTRIES].reverse());
  assert.equal(a.digest, b.digest, "entry order does not matter");
  assert.equal(a.diffId, b.diffId);
  assert.equal(a.digest, ociDigest(a.data));
  assert.equal(a.size, a.data.length);
  const tar = gunzipSync(a.data);
  assert.equal(ociDigest(tar), a.diffId);
  assert.deepEqual(tar, layerTar(ENTRIES));
  assert.deepEqual([...a.data.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff], "no mtime, OS unknown");
  const c = await buildLayer([...ENTRIES, { path: "etc/group", content: "root:x:0:\n" }]);
  assert.notEqual(c.digest, a.digest);
});

test("directoryEntries/layerFromDirectory: a host tree with modes, symlinks, hard links and excludes", async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, "src");
  await mkdir(join(src, "usr/sbin"), { recursive: true });
  await mkdir(join(src, "dev"), { recursive: true });
  await writeFile(join(src, "usr/sbin/xtables-nft-multi"), "ELF");
  await link(join(src, "usr/sbin/xtables-nft-multi"), join(src, "usr/sbin/a-link"));
  await symlink("xtables-nft-multi", join(src, "usr/sbin/iptables"));
  await writeFile(join(src, "dev/null-ish"), "");
  await writeFile(join(src, "usr/sbin/setuid"), "s", { mode: 0o4755 });

  const entries = await directoryEntries(src, { exclude: ["dev"] });
  const by = new Map(entries.map((e) => [e.path, e]));
  assert.deepEqual([...by.keys()].sort(), [
    "usr",
    "usr/sbin",
    "usr/sbin/a-link",
    "usr/sbin/iptables",
    "usr/sbin/setuid",
    "usr/sbin/xtables-nft-multi",
  ]);
  // The path first in tar order holds the content; the other one links to it.
  assert.ok("content" in (by.get("usr/sbin/a-link") as LayerEntry));
  assert.equal((by.get("usr/sbin/xtables-nft-multi") as { hardlink: string }).hardlink, "usr/sbin/a-link");
  assert.equal((by.get("usr/sbin/iptables") as { symlink: string }).symlink, "xtables-nft-multi");
  assert.equal(by.get("usr/sbin/setuid")?.mode, 0o4755);

  const prefixed = await directoryEntries(src, { prefix: "/rootfs", exclude: ["dev"] });
  assert.ok(prefixed.every((e) => e.path.startsWith("rootfs/")));

  const layer = await layerFromDirectory(src, { exclude: ["dev"] });
  assert.equal(layer.diffId, ociDigest(layerTar(entries)));
});

test("referenceTag: the tag of a full reference", () => {
  assert.equal(referenceTag("registry.k8s.io/kube-apiserver:v1.37.2"), "v1.37.2");
  assert.equal(referenceTag("registry.k8s.io/coredns/coredns:v1.14.6"), "v1.14.6");
  assert.equal(referenceTag("localhost:5000/etcd:3.7.0-0"), "3.7.0-0");
  assert.equal(referenceTag("localhost:5000/etcd"), undefined);
  assert.equal(referenceTag("registry.k8s.io/pause@sha256:abc"), undefined);
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
