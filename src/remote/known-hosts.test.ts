// known_hosts as kubelab keeps it: host patterns, trust on first use, accept-new, strict,
// concurrent first contacts and forgetting a host, on files in a temporary directory.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { blob } from "../../test/helpers/host-keys.js";
import { tempDir as tmp } from "../../test/helpers/tmp.js";
import { UserError } from "../errors.js";
import { checkKnownHosts, fingerprint, forgetHost, hostPattern, setHostKeys, verifyHostKey } from "./known-hosts.js";

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

test("setHostKeys: a generated machine's keys, all of them, known before it boots; strict then knows each", async (t) => {
  const file = join(await tmp(t), "known_hosts");
  await writeFile(
    file,
    `10.0.0.5 ssh-ed25519 ${blob(1).toString("base64")}\n10.0.0.6 ssh-ed25519 ${blob(9).toString("base64")}\n`,
  );
  // Re-created at the same address with three new keys: the old one goes, the neighbour stays.
  await setHostKeys(file, "10.0.0.5", 22, [blob(2), blob(3), blob(4)]);
  for (const k of [2, 3, 4]) assert.equal(await verifyHostKey(file, "10.0.0.5", 22, blob(k), "strict"), "known");
  await assert.rejects(verifyHostKey(file, "10.0.0.5", 22, blob(1), "trust-on-first-use"), /changed/);
  assert.equal(await verifyHostKey(file, "10.0.0.6", 22, blob(9), "strict"), "known");
  await checkKnownHosts(file);
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

test("checkKnownHosts reads OpenSSH's forms and refuses a line that is no entry, naming it", async (t) => {
  const dir = await tmp(t);
  const file = join(dir, "known_hosts");
  const key = blob(1).toString("base64");
  await writeFile(
    file,
    `# comment\n\n10.0.0.5 ssh-ed25519 ${key}\n[10.0.0.5]:2222,host ssh-ed25519 ${key} a comment\n` +
      `|1|c2FsdA==|aGFzaA== ssh-ed25519 ${key}\n@cert-authority *.lab ssh-ed25519 ${key}\n`,
  );
  await checkKnownHosts(file);
  await checkKnownHosts(join(dir, "absent"));
  const bad = [
    "three plain words\n",
    `10.0.0.5 ssh-rsa ${key}\n`,
    `10.0.0.5 ssh-ed25519 ${key.slice(0, 30)}\n`,
    "\u0000\u0001\u00ff\n",
  ];
  for (const text of bad) {
    await writeFile(file, `10.0.0.6 ssh-ed25519 ${key}\n${text}`);
    await assert.rejects(checkKnownHosts(file), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.message, `${file}, line 2: not a known_hosts entry (host key-type base64-key)`);
      assert.match(e.hint ?? "", /remove that line, or move the file away/);
      return true;
    });
    // Nothing is appended to a file kubelab cannot read.
    await assert.rejects(verifyHostKey(file, "10.0.0.7", 22, blob(2), "trust-on-first-use"), UserError);
    assert.equal(await readFile(file, "utf8"), `10.0.0.6 ssh-ed25519 ${key}\n${text}`);
  }
});
