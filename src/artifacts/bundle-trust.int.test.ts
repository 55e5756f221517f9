// `up --bundle` checks the bundled package index with the real gpgv: a Release signed by the
// pinned key, Packages matching it, and every .deb on disk listed in Packages. Tampered bundles
// are refused: a swapped .deb, a bundle.json naming another .deb, a Release without a valid
// signature, a key that is not the pinned one, a changed Packages index.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { carry, type Signed, writeFakeBundle } from "../../test/helpers/fake-bundle.js";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import { outsideHermetic } from "../../test/helpers/prereq.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { UserError } from "../errors.js";
import { type BundleTrust, PINNED_TRUST } from "./bundle-trust.js";
import { type BundleManifest, readBundle } from "./offline-bundle.js";
import { primaryFingerprints } from "./openpgp.js";

outsideHermetic("the real gpg and gpgv");
const plan = defaultPlan();

/** A throwaway signing key in its own gpg home; `sign` makes a detached armored signature. */
async function signer(t: TestContext, name: string) {
  const home = await tempDir(t, "kubelab-gpg-");
  const gpg = (args: string[], input?: Buffer) =>
    execFileSync("gpg", ["--batch", "--homedir", home, "--passphrase", "", ...args], { input, stdio: "pipe" });
  gpg(["--quick-gen-key", `${name} <${name}@kubelab.invalid>`, "ed25519", "sign", "never"]);
  t.after(() => execFileSync("gpgconf", ["--homedir", home, "--kill", "all"]));
  const key = gpg(["--export"]);
  return {
    key,
    fingerprint: primaryFingerprints(key)[0] as string,
    sign: (release: Buffer): Signed => ({ signature: gpg(["--armor", "--detach-sign"], release), key }),
  };
}

async function bundle(t: TestContext, sign: (r: Buffer) => Signed, change?: (m: BundleManifest) => BundleManifest) {
  const dir = await tempDir(t);
  return { dir, manifest: await writeFakeBundle(dir, plan, sign, change) };
}

const trusting = (fingerprint: string): BundleTrust => ({ ...PINNED_TRUST, aptKeyFingerprints: [fingerprint] });

async function refused(dir: string, trust: BundleTrust, message: RegExp) {
  await assert.rejects(readBundle(dir, plan, trust), (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.match(e.message, message);
    assert.equal(e.hint, "make the bundle again with kubelab bundle create");
    return true;
  });
}

test("a bundle whose index is signed by the pinned key and whose .debs are listed in it is read", async (t) => {
  const repo = await signer(t, "repository");
  const { dir, manifest } = await bundle(t, repo.sign);
  assert.deepEqual(await readBundle(dir, plan, trusting(repo.fingerprint)), manifest);
  await refused(dir, PINNED_TRUST, /is not the pinned one/);
});

test("a .deb swapped on disk, or a bundle.json naming another .deb, is refused", async (t) => {
  const repo = await signer(t, "repository");
  const swapped = await bundle(t, repo.sign);
  const deb = swapped.manifest.kubernetes.debs[0];
  assert.ok(deb);
  await writeFile(join(swapped.dir, "files", deb.sha256), "!<arch>\nsomething else\n");
  await refused(swapped.dir, trusting(repo.fingerprint), /kubeadm_.*\.deb is not a package of the signed index/);

  const renamed = await bundle(t, repo.sign);
  const other = await carry(renamed.dir, "kubeadm.deb", "!<arch>\nsomething else\n");
  const m = renamed.manifest;
  const debs = [{ ...other, name: m.kubernetes.debs[0]?.name ?? "" }, ...m.kubernetes.debs.slice(1)];
  await writeFile(join(renamed.dir, "bundle.json"), JSON.stringify({ ...m, kubernetes: { ...m.kubernetes, debs } }));
  await refused(renamed.dir, trusting(repo.fingerprint), /kubeadm_.*\.deb is not a package of the signed index/);
});

test("a Release without a valid signature by the pinned key is refused", async (t) => {
  const repo = await signer(t, "repository");
  const stranger = await signer(t, "stranger");
  // Signed by another key, with that key in the bundle: the key is not the pinned one.
  const other = await bundle(t, stranger.sign);
  await refused(other.dir, trusting(repo.fingerprint), /is not the pinned one/);
  // Signed by another key, the pinned key in the bundle: the signature does not hold.
  const resigned = await bundle(t, (r) => ({ signature: stranger.sign(r).signature, key: repo.key }));
  await refused(resigned.dir, trusting(repo.fingerprint), /Release\): bad signature/);
  // A Release changed after it was signed.
  const changed = await bundle(t, repo.sign);
  const apt = changed.manifest.kubernetes.apt;
  assert.ok(apt);
  const path = join(changed.dir, "files", apt.release.sha256);
  await writeFile(path, `${await readFile(path, "utf8")}Label: changed\n`);
  await refused(changed.dir, trusting(repo.fingerprint), /bad signature/);
});

test("a Packages index that does not match the signed Release is refused", async (t) => {
  const repo = await signer(t, "repository");
  const { dir, manifest } = await bundle(t, repo.sign);
  const apt = manifest.kubernetes.apt;
  assert.ok(apt);
  const path = join(dir, "files", apt.packages.sha256);
  await writeFile(path, `${await readFile(path, "utf8")}\n`);
  await refused(dir, trusting(repo.fingerprint), /Packages index does not match the signed Release/);
});
