import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { need } from "../../test/helpers/prereq.js";
import { UserError } from "../errors.js";
import { fingerprint, forgetHost, hostPattern, keyType, verifyHostKey } from "./known-hosts.js";

/** A fake ed25519 public key blob. */
function blob(seed: number): Buffer {
  const type = Buffer.from("ssh-ed25519");
  const len = Buffer.alloc(4);
  len.writeUInt32BE(type.length);
  const klen = Buffer.alloc(4);
  klen.writeUInt32BE(32);
  return Buffer.concat([len, type, klen, Buffer.alloc(32, seed)]);
}

async function tmp(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-kh-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test("fingerprint matches ssh-keygen -l", async (t) => {
  if (!need(t, "ssh-keygen", existsSync("/usr/bin/ssh-keygen"))) return;
  const dir = await tmp(t);
  const key = join(dir, "k");
  execFileSync("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  const pub = (await readFile(`${key}.pub`, "utf8")).split(" ");
  const b = Buffer.from(pub[1] ?? "", "base64");
  const printed = execFileSync("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", `${key}.pub`], { encoding: "utf8" });
  assert.equal(printed.split(" ")[1], fingerprint(b));
  assert.equal(keyType(b), "ssh-ed25519");
});

test("hostPattern: plain host on port 22, [host]:port otherwise", () => {
  assert.equal(hostPattern("10.0.0.5", 22), "10.0.0.5");
  assert.equal(hostPattern("10.0.0.5", 2222), "[10.0.0.5]:2222");
});

test("trust-on-first-use: adds, then knows, then refuses a changed key", async (t) => {
  const file = join(await tmp(t), "sub", "known_hosts");
  assert.equal(await verifyHostKey(file, "10.0.0.5", 22, blob(1), "trust-on-first-use"), "added");
  assert.equal(await verifyHostKey(file, "10.0.0.5", 22, blob(1), "trust-on-first-use"), "known");
  assert.equal(await verifyHostKey(file, "10.0.0.5", 2222, blob(2), "trust-on-first-use"), "added");
  const text = await readFile(file, "utf8");
  assert.equal(
    text,
    `10.0.0.5 ssh-ed25519 ${blob(1).toString("base64")}\n[10.0.0.5]:2222 ssh-ed25519 ${blob(2).toString("base64")}\n`,
  );
  await assert.rejects(verifyHostKey(file, "10.0.0.5", 22, blob(3), "trust-on-first-use"), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.equal(
      err.message,
      `host key for 10.0.0.5 changed (was ${fingerprint(blob(1))}, now ${fingerprint(blob(3))})`,
    );
    assert.match(err.hint ?? "", /--accept-new-host-keys/);
    assert.ok(err.hint?.includes(file));
    return true;
  });
  await assert.rejects(verifyHostKey(file, "10.0.0.5", 22, blob(3), "strict"), /changed/);
  assert.equal(await readFile(file, "utf8"), text, "a refused key leaves the file alone");
});

test("accept-new replaces the host's entry and keeps the others", async (t) => {
  const file = join(await tmp(t), "known_hosts");
  await writeFile(
    file,
    `# comment\n10.0.0.5 ssh-ed25519 ${blob(1).toString("base64")}\n10.0.0.6 ssh-ed25519 ${blob(9).toString("base64")}`,
  );
  assert.equal(await verifyHostKey(file, "10.0.0.5", 22, blob(3), "accept-new"), "added");
  assert.equal(await verifyHostKey(file, "10.0.0.5", 22, blob(3), "trust-on-first-use"), "known");
  assert.equal(await verifyHostKey(file, "10.0.0.6", 22, blob(9), "strict"), "known");
  const text = await readFile(file, "utf8");
  assert.ok(!text.includes(blob(1).toString("base64")));
  assert.ok(text.startsWith("# comment\n"));
});

test("strict refuses an unknown host and leaves the file alone", async (t) => {
  const file = join(await tmp(t), "known_hosts");
  await assert.rejects(verifyHostKey(file, "10.0.0.5", 22, blob(1), "strict"), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(err.message, /host key for 10\.0\.0\.5 is not known \(ssh-ed25519 SHA256:/);
    return true;
  });
  assert.equal(existsSync(file), false);
});

test("hashed entries (ssh-keygen -H) are matched", async (t) => {
  if (!need(t, "ssh-keygen", existsSync("/usr/bin/ssh-keygen"))) return;
  const file = join(await tmp(t), "known_hosts");
  await writeFile(file, `[10.0.0.5]:2222 ssh-ed25519 ${blob(1).toString("base64")}\n`);
  execFileSync("/usr/bin/ssh-keygen", ["-H", "-f", file], { stdio: "ignore" });
  assert.match(await readFile(file, "utf8"), /^\|1\|/);
  assert.equal(await verifyHostKey(file, "10.0.0.5", 2222, blob(1), "strict"), "known");
  await assert.rejects(verifyHostKey(file, "10.0.0.5", 2222, blob(2), "strict"), /changed/);
});

test("parallel first contacts all land in the file", async (t) => {
  const file = join(await tmp(t), "known_hosts");
  const hosts = Array.from({ length: 20 }, (_, i) => `10.0.1.${i}`);
  const r = await Promise.all(hosts.map((h, i) => verifyHostKey(file, h, 22, blob(i), "trust-on-first-use")));
  assert.deepEqual(new Set(r), new Set(["added"]));
  const lines = (await readFile(file, "utf8")).trimEnd().split("\n");
  assert.equal(lines.length, 20);
  await Promise.all(hosts.map((h, i) => verifyHostKey(file, h, 22, blob(i), "strict")));
});

test("forgetHost removes one host's entries", async (t) => {
  const file = join(await tmp(t), "known_hosts");
  await verifyHostKey(file, "10.0.0.5", 22, blob(1), "trust-on-first-use");
  await verifyHostKey(file, "10.0.0.6", 22, blob(2), "trust-on-first-use");
  await forgetHost(file, "10.0.0.5", 22);
  assert.equal(await verifyHostKey(file, "10.0.0.5", 22, blob(3), "trust-on-first-use"), "added");
  assert.equal(await verifyHostKey(file, "10.0.0.6", 22, blob(2), "strict"), "known");
});
