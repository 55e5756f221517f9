// Linkerd's PKI as made by generateLinkerdIdentity, checked by the real openssl (integration
// tier); what needs no outside tool is in linkerd-identity.test.ts.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { need } from "../../test/helpers/prereq.js";
import { generateLinkerdIdentity } from "./linkerd-identity.js";

const OPENSSL = "/usr/bin/openssl";

function hasOpenssl(t: TestContext): boolean {
  return need(t, `openssl (${OPENSSL})`, existsSync(OPENSSL));
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-linkerd-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const ossl = (...args: string[]): string =>
  execFileSync(OPENSSL, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

test("real openssl accepts the generated PKI", async (t) => {
  if (!hasOpenssl(t)) return;
  const dir = await tempDir(t);
  // openssl verify checks dates against the real time.
  const id = await generateLinkerdIdentity({ clock: { now: () => new Date() } });
  const p = (f: string) => join(dir, f);
  await writeFile(p("ca.crt"), id.trustAnchor.certPEM);
  await writeFile(p("ca.key"), id.trustAnchor.keyPEM);
  await writeFile(p("issuer.crt"), id.issuerCertPEM);
  await writeFile(p("issuer.key"), id.issuerKeyPEM);

  assert.equal(ossl("verify", "-CAfile", p("ca.crt"), p("issuer.crt")).trim(), `${p("issuer.crt")}: OK`);

  const caText = ossl("x509", "-in", p("ca.crt"), "-noout", "-text");
  const issuerText = ossl("x509", "-in", p("issuer.crt"), "-noout", "-text");
  for (const text of [caText, issuerText]) {
    assert.match(text, /ASN1 OID: prime256v1/);
    assert.match(text, /NIST CURVE: P-256/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    assert.match(text, /X509v3 Basic Constraints: critical/);
    assert.match(text, /X509v3 Subject Key Identifier/);
  }
  assert.match(caText, /CA:TRUE, pathlen:1/);
  assert.match(issuerText, /CA:TRUE, pathlen:0/);
  assert.match(issuerText, /X509v3 Authority Key Identifier/);
  assert.match(issuerText, /Subject: CN ?= ?identity\.linkerd\.cluster\.local/);

  ossl("ec", "-in", p("issuer.key"), "-noout", "-check"); // throws on failure
  const keyPub = ossl("pkey", "-in", p("issuer.key"), "-pubout");
  const certPub = ossl("x509", "-in", p("issuer.crt"), "-noout", "-pubkey");
  assert.equal(keyPub, certPub);
  const caKeyPub = ossl("pkey", "-in", p("ca.key"), "-pubout");
  assert.equal(caKeyPub, ossl("x509", "-in", p("ca.crt"), "-noout", "-pubkey"));
});

test("real openssl verifies issuers made from a reused trust anchor", async (t) => {
  if (!hasOpenssl(t)) return;
  const dir = await tempDir(t);
  const real = await generateLinkerdIdentity();
  const again = await generateLinkerdIdentity({ existingTrustAnchor: real.trustAnchor });
  await writeFile(join(dir, "ca.crt"), real.trustAnchor.certPEM);
  for (const [name, id] of [
    ["one.crt", real],
    ["two.crt", again],
  ] as const) {
    await writeFile(join(dir, name), id.issuerCertPEM);
    assert.equal(ossl("verify", "-CAfile", join(dir, "ca.crt"), join(dir, name)).trim(), `${join(dir, name)}: OK`);
  }
});
