/// <reference types="node" />
import "reflect-metadata";
import { createPrivateKey, createPublicKey, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import type { LinkerdIdentity, ServerCert, TrustAnchor } from "../render/linkerd-values.js";

/**
 * Linkerd identity PKI, generated in memory (no disk, no network). Mirrors Linkerd's documented
 * `step certificate create` commands: an ECDSA P-256 trust anchor (`--profile root-ca`) and an
 * issuer (`--profile intermediate-ca`) signed by it. It lives with the addons, not the
 * renderers: it draws random keys and reads the clock; the renderers get the result.
 */

// WebCrypto types from node:crypto so the module type-checks with or without the DOM lib.
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type X509Crypto = ReturnType<typeof x509.cryptoProvider.get>;

const crypto: webcrypto.Crypto = webcrypto;
x509.cryptoProvider.set(crypto as unknown as X509Crypto);

const EC_P256: webcrypto.EcKeyImportParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING_ALG: webcrypto.EcdsaParams = { name: "ECDSA", hash: "SHA-256" };
const DAY_MS = 86_400_000;
/** Backdating of notBefore to tolerate clock skew between nodes. */
const CLOCK_SKEW_MS = 5 * 60_000;
const CA_KEY_USAGES = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;

/** Source of the current time; injectable so tests can pin certificate dates. */
export interface IdentityClock {
  now(): Date;
}

/** Source of ECDSA P-256 key pairs; keys must be extractable (they are exported as PEM). */
export interface KeySource {
  generateP256(): Promise<CryptoKeyPair>;
}

/** Options for {@link generateLinkerdIdentity}. */
export interface LinkerdIdentityOptions {
  /** Kubernetes cluster domain used in the certificate subjects. @default "cluster.local" */
  clusterDomain?: string;
  /** Validity of a newly created trust anchor, in days. @default 3650 */
  trustAnchorValidityDays?: number;
  /** Validity of the issuer certificate, in days (capped by the anchor's notAfter). @default 365 */
  issuerValidityDays?: number;
  /** Trust anchor to reuse instead of creating one: rotating the anchor breaks mTLS between meshed pods. */
  existingTrustAnchor?: TrustAnchor;
  /** Clock used for notBefore/notAfter. @default the system clock */
  clock?: IdentityClock;
  /** Key pair source. @default WebCrypto `generateKey` ECDSA P-256, extractable */
  keys?: KeySource;
}

const systemClock: IdentityClock = { now: () => new Date() };

const webcryptoKeys: KeySource = {
  generateP256: () => crypto.subtle.generateKey(EC_P256, true, ["sign", "verify"]) as Promise<CryptoKeyPair>,
};

/** Ensures a PEM string ends with exactly one newline. */
const pemNl = (pem: string): string => `${pem.trimEnd()}\n`;

/** Random positive 128-bit serial number, hex encoded. */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01; // positive, and never shortened by a leading zero byte
  return Buffer.from(bytes).toString("hex");
}

function caExtensions(pathLength: number): x509.Extension[] {
  return [new x509.BasicConstraintsExtension(true, pathLength, true), new x509.KeyUsagesExtension(CA_KEY_USAGES, true)];
}

function isP256(alg: { name: string }): boolean {
  return alg.name === "ECDSA" && (alg as Partial<webcrypto.EcKeyAlgorithm>).namedCurve === "P-256";
}

/** Draws a key pair from the source and checks it really is ECDSA P-256. */
async function newP256(keys: KeySource): Promise<CryptoKeyPair> {
  const kp = await keys.generateP256();
  if (!isP256(kp.publicKey.algorithm)) throw new Error("KeySource.generateP256 returned a non ECDSA P-256 key");
  return kp;
}

/** Parses and validates a reusable trust anchor, returning its certificate and signing key. */
async function loadTrustAnchor(
  anchor: TrustAnchor,
  now: Date,
): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(anchor.certPEM);
  } catch (err) {
    throw new Error(`existingTrustAnchor.certPEM is not a valid X.509 certificate: ${String(err)}`);
  }
  if (!isP256(cert.publicKey.algorithm)) {
    throw new Error(
      `existingTrustAnchor must be an ECDSA P-256 certificate (Linkerd requires P-256), got ${cert.publicKey.algorithm.name}`,
    );
  }
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw new Error("existingTrustAnchor certificate is not a CA (BasicConstraints CA:TRUE missing)");
  if (bc.pathLength === 0) throw new Error("existingTrustAnchor has pathlen:0 and cannot sign the issuer CA");
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (ku && !(ku.usages & x509.KeyUsageFlags.keyCertSign)) {
    throw new Error("existingTrustAnchor KeyUsage lacks keyCertSign");
  }
  if (cert.notAfter.getTime() <= now.getTime()) {
    throw new Error(`existingTrustAnchor expired at ${cert.notAfter.toISOString()}`);
  }
  let pkcs8: Buffer;
  try {
    const priv = createPrivateKey({ key: anchor.keyPEM, format: "pem" });
    const spki = createPublicKey(priv).export({ type: "spki", format: "der" });
    if (!spki.equals(Buffer.from(cert.publicKey.rawData))) throw new Error("key does not match certificate");
    pkcs8 = priv.export({ type: "pkcs8", format: "der" });
  } catch (err) {
    throw new Error(
      `existingTrustAnchor.keyPEM is not the private key of the anchor certificate: ${(err as Error).message}`,
    );
  }
  const key = await crypto.subtle.importKey("pkcs8", pkcs8, EC_P256, false, ["sign"]);
  return { cert, key };
}

/**
 * Generates Linkerd's identity PKI: a trust anchor (or reuses `existingTrustAnchor`) and a fresh
 * issuer certificate/key signed by it. All keys are ECDSA P-256, signatures ecdsa-with-SHA256.
 */
export async function generateLinkerdIdentity(opts: LinkerdIdentityOptions = {}): Promise<LinkerdIdentity> {
  const domain = opts.clusterDomain ?? "cluster.local";
  const anchorDays = opts.trustAnchorValidityDays ?? 3650;
  const issuerDays = opts.issuerValidityDays ?? 365;
  for (const [name, v] of [
    ["trustAnchorValidityDays", anchorDays],
    ["issuerValidityDays", issuerDays],
  ] as const) {
    if (!(Number.isFinite(v) && v > 0)) throw new Error(`${name} must be a positive number, got ${v}`);
  }
  const keys = opts.keys ?? webcryptoKeys;
  const now = (opts.clock ?? systemClock).now();
  const notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);

  let anchorCert: x509.X509Certificate;
  let anchorSigningKey: CryptoKey;
  let trustAnchor: TrustAnchor;
  if (opts.existingTrustAnchor) {
    ({ cert: anchorCert, key: anchorSigningKey } = await loadTrustAnchor(opts.existingTrustAnchor, now));
    trustAnchor = { ...opts.existingTrustAnchor };
  } else {
    const anchorKeys = await newP256(keys);
    anchorCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: `CN=root.linkerd.${domain}`,
      notBefore,
      notAfter: new Date(now.getTime() + anchorDays * DAY_MS),
      keys: anchorKeys,
      signingAlgorithm: SIGNING_ALG,
      extensions: [...caExtensions(1), await x509.SubjectKeyIdentifierExtension.create(anchorKeys.publicKey)],
    });
    anchorSigningKey = anchorKeys.privateKey;
    const pkcs8 = await crypto.subtle.exportKey("pkcs8", anchorKeys.privateKey);
    trustAnchor = {
      certPEM: pemNl(anchorCert.toString("pem")),
      keyPEM: pemNl(x509.PemConverter.encode(pkcs8, "PRIVATE KEY")),
    };
  }

  const issuerKeys = await newP256(keys);
  const anchorSki = anchorCert.getExtension(x509.SubjectKeyIdentifierExtension);
  const aki = anchorSki
    ? new x509.AuthorityKeyIdentifierExtension(anchorSki.keyId)
    : await x509.AuthorityKeyIdentifierExtension.create(anchorCert.publicKey);
  const wanted = now.getTime() + issuerDays * DAY_MS;
  const issuerCert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=identity.linkerd.${domain}`,
    issuer: anchorCert.subjectName,
    notBefore: new Date(Math.max(notBefore.getTime(), anchorCert.notBefore.getTime())),
    notAfter: new Date(Math.min(wanted, anchorCert.notAfter.getTime())),
    publicKey: issuerKeys.publicKey,
    signingKey: anchorSigningKey,
    signingAlgorithm: SIGNING_ALG,
    extensions: [...caExtensions(0), await x509.SubjectKeyIdentifierExtension.create(issuerKeys.publicKey), aki],
  });

  const issuerPkcs8 = Buffer.from(await crypto.subtle.exportKey("pkcs8", issuerKeys.privateKey));
  const issuerKeyPEM = createPrivateKey({ key: issuerPkcs8, format: "der", type: "pkcs8" })
    .export({ type: "sec1", format: "pem" })
    .toString();

  return {
    trustAnchor,
    issuerCertPEM: pemNl(issuerCert.toString("pem")),
    issuerKeyPEM: pemNl(issuerKeyPEM),
    issuerNotAfter: issuerCert.notAfter,
  };
}

/**
 * Whether the issuer certificate expires within `days` of `now` (or already has), i.e. whether it
 * is time to rotate it.
 */
export function issuerExpiresWithin(identity: { issuerCertPEM: string }, days: number, now: Date): boolean {
  return issuerNotAfter(identity.issuerCertPEM).getTime() - now.getTime() <= days * DAY_MS;
}

/** The notAfter of a PEM certificate (the issuer's expiry). */
export function issuerNotAfter(certPEM: string): Date {
  return new x509.X509Certificate(certPEM).notAfter;
}

/**
 * A self-signed ECDSA P-256 server certificate for `host` (CN and DNS SAN), as Helm's
 * `genSelfSignedCert` makes for Linkerd's webhooks at every render; kubelab makes it once and
 * keeps it, so re-rendering the chart gives the same objects.
 */
export async function selfSignedServerCert(
  host: string,
  opts: { days?: number; clock?: IdentityClock; keys?: KeySource } = {},
): Promise<ServerCert> {
  const now = (opts.clock ?? systemClock).now();
  const kp = await newP256(opts.keys ?? webcryptoKeys);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${host}`,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(now.getTime() + (opts.days ?? 3650) * DAY_MS),
    keys: kp,
    signingAlgorithm: SIGNING_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: host }]),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", kp.privateKey);
  return { certPEM: pemNl(cert.toString("pem")), keyPEM: pemNl(x509.PemConverter.encode(pkcs8, "PRIVATE KEY")) };
}
