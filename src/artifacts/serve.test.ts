// The host's file server streams files a disk store holds, and decompresses a tarball once
// into a file of its own: what nodes fetch is byte for byte the pinned file (or its
// decompressed tar), named by its sha256; a damaged file is never served.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { serveArtifacts } from "./serve.js";
import { cachingStore, directoryStore } from "./store.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

async function stored(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-serve-test-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const plain = Buffer.alloc(3 * 1024 * 1024, "kubelab ");
  const tar = Buffer.alloc(2 * 1024 * 1024, "a tar ");
  const gz = gzipSync(tar);
  await mkdir(join(dir, "files"));
  for (const b of [plain, gz]) await writeFile(join(dir, "files", sha(b)), b);
  return {
    dir,
    plain: { url: "https://example.invalid/plain", sha256: sha(plain), bytes: plain },
    gz: { url: "https://example.invalid/x.tgz", sha256: sha(gz), tar },
  };
}

test("a disk store's files stream to nodes; a tarball is served decompressed, named by the tar's sha256", async (t) => {
  const s = await stored(t);
  const server = await serveArtifacts(directoryStore(join(s.dir, "files")), "127.0.0.1");
  try {
    const plain = await server.offer(s.plain);
    assert.equal(plain.sha256, s.plain.sha256);
    assert.deepEqual(Buffer.from(await (await fetch(plain.url)).arrayBuffer()), s.plain.bytes);
    const tar = await server.offer(s.gz, { gunzip: true });
    assert.equal(tar.sha256, sha(s.gz.tar));
    const res = await fetch(tar.url);
    assert.equal(res.headers.get("content-length"), String(s.gz.tar.length));
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), s.gz.tar);
    assert.equal(await server.offer(s.gz, { gunzip: true }), await server.offer(s.gz, { gunzip: true }), "once");
    assert.equal((await fetch(plain.url.replace(/[0-9a-f]{64}$/, "0".repeat(64)))).status, 404);
  } finally {
    await server.close();
  }
  const left = (await readdir(tmpdir())).filter(
    (e) => e.startsWith("kubelab-serve-") && !e.startsWith("kubelab-serve-test-"),
  );
  for (const e of left) assert.ok(!existsSync(join(tmpdir(), e, `${s.gz.sha256}.tar`)), `${e} removed on close`);
});

test("a damaged file in the store is refused, not served", async (t) => {
  const s = await stored(t);
  await writeFile(join(s.dir, "files", s.plain.sha256), "not the pinned bytes");
  const server = await serveArtifacts(directoryStore(join(s.dir, "files")), "127.0.0.1");
  try {
    await assert.rejects(server.offer(s.plain), /sha256 mismatch for https:\/\/example.invalid\/plain/);
  } finally {
    await server.close();
  }
});

test("the download cache gives a path to a verified file, downloading it first when absent or damaged", async (t) => {
  const s = await stored(t);
  const cache = join(s.dir, "cache");
  let downloads = 0;
  const fetchImpl = (async () => {
    downloads++;
    return new Response(s.plain.bytes);
  }) as typeof fetch;
  const store = cachingStore(cache, fetchImpl);
  const path = await store.path?.(s.plain);
  assert.equal(path, join(cache, s.plain.sha256));
  assert.equal(downloads, 1);
  assert.equal(await store.path?.(s.plain), path);
  assert.equal(downloads, 1, "cached: no second download");
  await writeFile(join(cache, s.plain.sha256), "damaged");
  assert.equal(await store.path?.(s.plain), path);
  assert.equal(downloads, 2, "a damaged copy is fetched again");
});
