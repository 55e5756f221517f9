// OCI layers built in memory: the tar bytes (PAX xattrs, what is refused), deterministic gzip
// and digests, layers from a directory tree, and image references.
import assert from "node:assert/strict";
import { chmod, link, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import { CAP, ENTRIES } from "../../test/helpers/oci-entries.js";
import { tempDir } from "../../test/helpers/tmp.js";
import {
  buildLayer,
  directoryEntries,
  type LayerEntry,
  layerFromDirectory,
  layerTar,
  ociDigest,
  referenceTag,
} from "./layout.js";

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
  // chmod after the write: a write by a non-root user clears the setuid bit.
  await writeFile(join(src, "usr/sbin/setuid"), "s");
  await chmod(join(src, "usr/sbin/setuid"), 0o4755);

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
