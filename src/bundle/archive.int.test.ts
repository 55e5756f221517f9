// A bundle as one .tar file (real tar): packed, then opened once into the cache and reused.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { isArchivePath, openBundle, packBundle } from "./archive.js";

test("pack a bundle directory into a .tar, open it (unpacked once), and a directory opens as itself", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-archive-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bundle = join(dir, "b.tar.d");
  await mkdir(join(bundle, "files"), { recursive: true });
  await writeFile(join(bundle, "bundle.json"), '{"format":"kubelab.dev/bundle/v1"}\n');
  await writeFile(join(bundle, "files", "abc"), "data");
  const out = join(dir, "b.tar");
  assert.ok(isArchivePath(out));
  await packBundle(bundle, out);
  assert.equal(existsSync(bundle), false, "the directory is gone once packed");

  const cache = join(dir, "cache");
  const opened = await openBundle(out, cache);
  assert.equal(await readFile(join(opened, "files", "abc"), "utf8"), "data");
  const first = (await stat(join(opened, "bundle.json"))).mtimeMs;
  assert.equal(await openBundle(out, cache), opened);
  assert.equal((await stat(join(opened, "bundle.json"))).mtimeMs, first, "not unpacked again");
  assert.equal(await openBundle(opened, cache), opened);
  await assert.rejects(openBundle(join(dir, "none.tar"), cache), /no bundle at/);
  await writeFile(join(dir, "junk.tar"), "not a tar");
  await assert.rejects(openBundle(join(dir, "junk.tar"), cache), /neither a directory nor a tar archive/);
  // Cut short in a copy: tar's first complaint, once, and the hint to make it again.
  const whole = await readFile(out);
  await writeFile(join(dir, "cut.tar"), whole.subarray(0, 1600));
  const cut = await openBundle(join(dir, "cut.tar"), cache).catch((e: Error & { hint?: string }) => e);
  assert.ok(cut instanceof Error);
  assert.match(cut.message, /is not a readable bundle archive: tar: /);
  assert.equal(cut.message.split("\n").length, 1, cut.message);
  assert.match(cut.hint ?? "", /bundle create/);
  // A tar of something else.
  await mkdir(join(dir, "other"));
  await writeFile(join(dir, "other", "x"), "x");
  await packBundle(join(dir, "other"), join(dir, "other.tar"));
  await assert.rejects(openBundle(join(dir, "other.tar"), cache), /a tar archive but not a kubelab bundle/);
});

test("an archive's owners and modes are not kept: files belong to whoever unpacks, without setuid", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-archive-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const src = join(dir, "src");
  await mkdir(src);
  await writeFile(join(src, "bundle.json"), '{"format":"kubelab.dev/bundle/v1"}\n');
  await writeFile(join(src, "tool"), "#!/bin/sh\n");
  const out = join(dir, "owned.tar");
  // A hostile archive: a member owned by someone else, setuid.
  await promisify(execFile)("tar", ["-C", src, "--owner=1234", "--group=1234", "--mode=4755", "-cf", out, "."]);
  const opened = await openBundle(out, join(dir, "cache"));
  const st = await stat(join(opened, "tool"));
  assert.equal(st.uid, process.getuid?.(), "owned by the user who unpacked it");
  assert.equal(st.gid, process.getgid?.());
  assert.equal(st.mode & 0o7000, 0, `no setuid/setgid/sticky bit (mode ${(st.mode & 0o7777).toString(8)})`);
});
