/**
 * Certificates as doctor reads them from collected Secrets and ConfigMaps: parsed with
 * node:crypto (no other X.509 code, so a dump is checked the same way everywhere), compared by
 * their DER bytes, and described by subject, SHA-256 fingerprint and expiry, the fields a user
 * can compare with `openssl x509 -noout -subject -fingerprint -sha256 -enddate`.
 */
import { X509Certificate } from "node:crypto";
import { API_KEYS, type CertificatePlace } from "../api.js";
import { nameOf, namespaceOf, stringMap } from "../object.js";
import type { Evidence } from "../types.js";
import { items } from "./common.js";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** At least one certificate, in the order of the PEM text. */
export type Certificates = readonly [X509Certificate, ...X509Certificate[]];

/** What a place held: its certificates (a bundle may hold several), or why there are none. */
export type CertificateRead =
  | { readonly status: "ok"; readonly key: string; readonly certs: Certificates }
  | {
      /** absent: no such object; empty: none of the keys; invalid: the value does not parse. */
      readonly status: "absent" | "empty" | "invalid";
      /** What was seen, as an evidence line. */
      readonly line: string;
    };

/** placeName names a place's object: `Secret linkerd/linkerd-identity-issuer`. */
export const placeName = (p: CertificatePlace): string => `${p.kind} ${p.namespace}/${p.name}`;

/** pemCertificates parses every CERTIFICATE block of a PEM text; throws when there is none or one does not parse. */
export function pemCertificates(pem: string): Certificates {
  const [first, ...rest] = pem.match(PEM_CERTIFICATE) ?? [];
  if (first === undefined) throw new Error("no PEM CERTIFICATE block");
  return [new X509Certificate(first), ...rest.map((b) => new X509Certificate(b))];
}

/** readCertificates finds a place's object in the evidence and parses the certificates under its first key present. */
export function readCertificates(e: Evidence, place: CertificatePlace): CertificateRead {
  const where = placeName(place);
  const key = place.kind === "Secret" ? API_KEYS.secret : API_KEYS.configMap;
  const found = items(e, key).find((o) => namespaceOf(o) === place.namespace && nameOf(o) === place.name);
  if (!found) return { status: "absent", line: `no ${where}` };
  const data = stringMap(found, "data");
  const k = place.keys.find((x) => data[x] !== undefined);
  if (k === undefined) return { status: "empty", line: `no ${place.keys.join(" or ")} in ${where}` };
  // Secret data is base64, as the API serves it; a ConfigMap's is the text itself.
  const pem = place.kind === "Secret" ? Buffer.from(data[k] as string, "base64").toString("utf8") : (data[k] as string);
  try {
    return { status: "ok", key: k, certs: pemCertificates(pem) };
  } catch (err) {
    return { status: "invalid", line: `${k} in ${where} is not a certificate: ${(err as Error).message}` };
  }
}

/** notAfter is when a certificate expires. */
export const notAfter = (c: X509Certificate): Date => new Date(c.validTo);

/** describeCertificate: `CN=root.linkerd.cluster.local, SHA-256 AB:…:EF, notAfter 2036-12-06T09:00:00.000Z`. */
export const describeCertificate = (c: X509Certificate): string =>
  `${c.subject.replaceAll("\n", ", ")}, SHA-256 ${c.fingerprint256}, notAfter ${notAfter(c).toISOString()}`;

/** sameCertificate tells whether two certificates are the same (byte for byte, DER). */
export const sameCertificate = (a: X509Certificate, b: X509Certificate): boolean => a.raw.equals(b.raw);

/** signedBy tells whether `anchor` issued `cert`: names and key identifiers match and the signature verifies with its key. */
export const signedBy = (cert: X509Certificate, anchor: X509Certificate): boolean =>
  cert.checkIssued(anchor) && cert.verify(anchor.publicKey);
