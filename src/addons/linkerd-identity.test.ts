import "reflect-metadata";
import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { test } from "node:test";
import * as x509 from "@peculiar/x509";
import {
  generateLinkerdIdentity,
  type IdentityClock,
  issuerExpiresWithin,
  type KeySource,
} from "./linkerd-identity.js";

const DAY = 86_400_000;
const FIXED_NOW = new Date("2026-03-01T12:00:00.000Z");
const fixedClock: IdentityClock = { now: () => new Date(FIXED_NOW) };

/** Key source that records the key pairs it hands out. */
function recordingKeys(): KeySource & { issued: webcrypto.CryptoKeyPair[] } {
  const issued: webcrypto.CryptoKeyPair[] = [];
  return {
    issued,
    async generateP256() {
      const kp = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
      issued.push(kp);
      return kp;
    },
  };
}

async function spki(key: webcrypto.CryptoKey): Promise<string> {
  return Buffer.from(await webcrypto.subtle.exportKey("spki", key)).toString("hex");
}

test("trust anchor and issuer have Linkerd root-ca / intermediate-ca contents", async () => {
  const keys = recordingKeys();
  const id = await generateLinkerdIdentity({ clock: fixedClock, keys });
  assert.equal(keys.issued.length, 2);
  const ca = new x509.X509Certificate(id.trustAnchor.certPEM);
  const issuer = new x509.X509Certificate(id.issuerCertPEM);

  assert.equal(ca.subject, "CN=root.linkerd.cluster.local");
  assert.equal(ca.issuer, "CN=root.linkerd.cluster.local");
  assert.equal(issuer.subject, "CN=identity.linkerd.cluster.local");
  assert.equal(issuer.issuer, "CN=root.linkerd.cluster.local");
  assert.ok(await ca.isSelfSigned());
  assert.ok(await issuer.verify({ publicKey: ca.publicKey, date: FIXED_NOW }));

  // Which key went where (KeySource order: anchor first, then issuer).
  const [anchorKp, issuerKp] = keys.issued;
  assert.ok(anchorKp && issuerKp);
  assert.equal(Buffer.from(ca.publicKey.rawData).toString("hex"), await spki(anchorKp.publicKey));
  assert.equal(Buffer.from(issuer.publicKey.rawData).toString("hex"), await spki(issuerKp.publicKey));

  assert.equal(ca.notBefore.getTime(), FIXED_NOW.getTime() - 5 * 60_000);
  assert.equal(ca.notAfter.getTime(), FIXED_NOW.getTime() + 3650 * DAY);
  assert.equal(issuer.notAfter.getTime(), FIXED_NOW.getTime() + 365 * DAY);
  assert.equal(id.issuerNotAfter.getTime(), issuer.notAfter.getTime());

  for (const [cert, pathLength] of [
    [ca, 1],
    [issuer, 0],
  ] as const) {
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    assert.ok(bc?.critical && bc.ca);
    assert.equal(bc.pathLength, pathLength);
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    assert.ok(ku?.critical);
    assert.equal(ku.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    assert.deepEqual(cert.publicKey.algorithm, { name: "ECDSA", namedCurve: "P-256" });
    assert.deepEqual(cert.signatureAlgorithm, { name: "ECDSA", hash: { name: "SHA-256" } });
    assert.match(cert.serialNumber, /^[0-7][0-9a-f]{31}$/);
  }
  const caSki = ca.getExtension(x509.SubjectKeyIdentifierExtension);
  const aki = issuer.getExtension(x509.AuthorityKeyIdentifierExtension);
  assert.ok(caSki && aki && issuer.getExtension(x509.SubjectKeyIdentifierExtension));
  assert.equal(aki.keyId, caSki.keyId);

  assert.match(id.trustAnchor.keyPEM, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.match(id.issuerKeyPEM, /^-----BEGIN EC PRIVATE KEY-----\n[\s\S]+-----END EC PRIVATE KEY-----\n$/);
  assert.match(id.issuerCertPEM, /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
});

test("custom cluster domain and issuer validity capped by the anchor notAfter", async () => {
  const id = await generateLinkerdIdentity({
    clock: fixedClock,
    clusterDomain: "lab.example",
    trustAnchorValidityDays: 30,
    issuerValidityDays: 365,
  });
  const ca = new x509.X509Certificate(id.trustAnchor.certPEM);
  const issuer = new x509.X509Certificate(id.issuerCertPEM);
  assert.equal(ca.subject, "CN=root.linkerd.lab.example");
  assert.equal(issuer.subject, "CN=identity.linkerd.lab.example");
  assert.equal(ca.notAfter.getTime(), FIXED_NOW.getTime() + 30 * DAY);
  assert.equal(issuer.notAfter.getTime(), ca.notAfter.getTime());
  assert.equal(id.issuerNotAfter.getTime(), ca.notAfter.getTime());
});

test("existingTrustAnchor is reused and new issuers chain to it", async () => {
  const first = await generateLinkerdIdentity({ clock: fixedClock });
  const later: IdentityClock = { now: () => new Date(FIXED_NOW.getTime() + 100 * DAY) };
  const a = await generateLinkerdIdentity({ clock: later, existingTrustAnchor: first.trustAnchor });
  const b = await generateLinkerdIdentity({ clock: later, existingTrustAnchor: first.trustAnchor });
  assert.equal(a.trustAnchor.certPEM, first.trustAnchor.certPEM);
  assert.equal(b.trustAnchor.certPEM, first.trustAnchor.certPEM);
  assert.equal(a.trustAnchor.keyPEM, first.trustAnchor.keyPEM);
  assert.notEqual(a.issuerCertPEM, b.issuerCertPEM);
  assert.notEqual(a.issuerKeyPEM, b.issuerKeyPEM);
  const ca = new x509.X509Certificate(first.trustAnchor.certPEM);
  for (const id of [a, b]) {
    const issuer = new x509.X509Certificate(id.issuerCertPEM);
    assert.ok(await issuer.verify({ publicKey: ca.publicKey, date: later.now() }));
    assert.equal(issuer.notAfter.getTime(), later.now().getTime() + 365 * DAY);
  }
});

async function selfSigned(
  alg: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams,
  extensions: x509.Extension[],
): Promise<{ certPEM: string; keyPEM: string }> {
  const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: "CN=bogus",
    keys,
    notBefore: new Date(FIXED_NOW.getTime() - DAY),
    notAfter: new Date(FIXED_NOW.getTime() + 100 * DAY),
    extensions,
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { certPEM: cert.toString("pem"), keyPEM: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") };
}

test("existingTrustAnchor that is RSA, not a CA, or mismatched is rejected clearly", async () => {
  const caExt = [new x509.BasicConstraintsExtension(true, 1, true)];
  const rsa = await selfSigned(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    caExt,
  );
  await assert.rejects(generateLinkerdIdentity({ clock: fixedClock, existingTrustAnchor: rsa }), /ECDSA P-256/);

  const p384 = await selfSigned({ name: "ECDSA", namedCurve: "P-384" }, caExt);
  await assert.rejects(generateLinkerdIdentity({ clock: fixedClock, existingTrustAnchor: p384 }), /ECDSA P-256/);

  const leaf = await selfSigned({ name: "ECDSA", namedCurve: "P-256" }, [
    new x509.BasicConstraintsExtension(false, undefined, true),
  ]);
  await assert.rejects(generateLinkerdIdentity({ clock: fixedClock, existingTrustAnchor: leaf }), /not a CA/);
  const noBc = await selfSigned({ name: "ECDSA", namedCurve: "P-256" }, []);
  await assert.rejects(generateLinkerdIdentity({ clock: fixedClock, existingTrustAnchor: noBc }), /not a CA/);

  const good = await generateLinkerdIdentity({ clock: fixedClock });
  const other = await generateLinkerdIdentity({ clock: fixedClock });
  await assert.rejects(
    generateLinkerdIdentity({
      clock: fixedClock,
      existingTrustAnchor: { certPEM: good.trustAnchor.certPEM, keyPEM: other.trustAnchor.keyPEM },
    }),
    /not the private key of the anchor/,
  );
  await assert.rejects(
    generateLinkerdIdentity({ clock: fixedClock, existingTrustAnchor: { certPEM: "garbage", keyPEM: "" } }),
    /not a valid X\.509 certificate/,
  );
  const expired: IdentityClock = { now: () => new Date(FIXED_NOW.getTime() + 4000 * DAY) };
  await assert.rejects(generateLinkerdIdentity({ clock: expired, existingTrustAnchor: good.trustAnchor }), /expired/);
});

test("a KeySource handing out non-P-256 keys is rejected", async () => {
  const p384: KeySource = {
    generateP256: () => webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, ["sign", "verify"]),
  };
  await assert.rejects(generateLinkerdIdentity({ clock: fixedClock, keys: p384 }), /non ECDSA P-256/);
  await assert.rejects(generateLinkerdIdentity({ clock: fixedClock, issuerValidityDays: 0 }), /issuerValidityDays/);
});

test("issuerExpiresWithin around 30 days", async () => {
  const id = await generateLinkerdIdentity({ clock: fixedClock, issuerValidityDays: 365 });
  const notAfter = id.issuerNotAfter.getTime();
  assert.equal(issuerExpiresWithin(id, 30, FIXED_NOW), false);
  assert.equal(issuerExpiresWithin(id, 30, new Date(notAfter - 31 * DAY)), false);
  assert.equal(issuerExpiresWithin(id, 30, new Date(notAfter - 29 * DAY)), true);
  assert.equal(issuerExpiresWithin(id, 30, new Date(notAfter + DAY)), true);
  assert.equal(issuerExpiresWithin(id, 400, FIXED_NOW), true);
});
