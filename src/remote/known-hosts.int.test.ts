// known_hosts against the real ssh-keygen: the same fingerprints, and its hashed entries matched.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { blob } from "../../test/helpers/host-keys.js";
import { need } from "../../test/helpers/prereq.js";
import { tempDir as tmp } from "../../test/helpers/tmp.js";
import { fingerprint, keyType, verifyHostKey } from "./known-hosts.js";

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

test("hashed entries (ssh-keygen -H) are matched", async (t) => {
  if (!need(t, "ssh-keygen", existsSync("/usr/bin/ssh-keygen"))) return;
  const file = join(await tmp(t), "known_hosts");
  await writeFile(file, `[10.0.0.5]:2222 ssh-ed25519 ${blob(1).toString("base64")}\n`);
  execFileSync("/usr/bin/ssh-keygen", ["-H", "-f", file], { stdio: "ignore" });
  assert.match(await readFile(file, "utf8"), /^\|1\|/);
  assert.equal(await verifyHostKey(file, "10.0.0.5", 2222, blob(1), "strict"), "known");
  await assert.rejects(verifyHostKey(file, "10.0.0.5", 2222, blob(2), "strict"), /changed/);
});
