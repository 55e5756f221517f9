// Vagrant's insecure public keys: the RSA one always, then each line of every installed
// vagrant gem's keys/vagrant.pub, none twice (gem directories made in the test).
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { publicKeyLines, VAGRANT_INSECURE_RSA, vagrantInsecurePublicKeys } from "./insecure-key.js";

test("the installed gems' keys follow the RSA key, each once; no gem leaves the RSA key alone", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-insecure-key-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN+x vagrant insecure public key";
  const debian = join(dir, "debian");
  await mkdir(join(debian, "vagrant-2.4.1", "keys"), { recursive: true });
  await writeFile(join(debian, "vagrant-2.4.1", "keys", "vagrant.pub"), `${ed}\n${VAGRANT_INSECURE_RSA}\n`);
  // HashiCorp's older layout: <ruby version>/gems/vagrant-<version>.
  const hashicorp = join(dir, "hashicorp");
  await mkdir(join(hashicorp, "3.1.0", "gems", "vagrant-2.3.7", "keys"), { recursive: true });
  await writeFile(join(hashicorp, "3.1.0", "gems", "vagrant-2.3.7", "keys", "vagrant.pub"), `${ed}\n`);
  assert.deepEqual(await vagrantInsecurePublicKeys([debian, hashicorp, join(dir, "absent")]), [
    VAGRANT_INSECURE_RSA,
    ed,
  ]);
  assert.deepEqual(await vagrantInsecurePublicKeys([join(dir, "absent")]), [VAGRANT_INSECURE_RSA]);
  assert.deepEqual(publicKeyLines(`# comment\n\n  ${ed}  \n`), [ed]);
});
