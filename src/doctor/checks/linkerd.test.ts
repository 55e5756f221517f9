// linkerd.trust-anchor, linkerd.issuer-chain and linkerd.issuer-expiry on hand-made evidence
// holding what doctor keeps of Linkerd's identity (certificates only), made in process: kubelab's
// anchor and issuer, and a foreign pair with the same names. The same through a real API
// server's Secrets is linkerd.int.test.ts's.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { test } from "node:test";
import {
  checkApi,
  issuerSecret,
  kubelabSecret,
  linkerdPki,
  NO_LINKERD_FILE,
  trustRoots,
} from "../../../test/helpers/linkerd-objects.js";
import { API_KEYS, SECRETS } from "../api.js";
import type { CheckResult } from "../types.js";

type Obj = Record<string, unknown>;

const { kubelab, foreign } = await linkerdPki();
const describe = (pem: string) => {
  const c = new X509Certificate(pem);
  return `CN=root.linkerd.cluster.local, SHA-256 ${c.fingerprint256}, notAfter ${new Date(c.validTo).toISOString()}`;
};
const STORED = `kubelab's anchor (trust-anchor.crt in Secret kube-system/kubelab-linkerd-identity): ${describe(kubelab.trustAnchor.certPEM)}`;

/** Check `id` on the given identity objects (as doctor keeps them). */
function check(id: string, o: { secrets?: Obj[]; configMaps?: Obj[]; file?: unknown }): CheckResult {
  return checkApi(
    id,
    { [API_KEYS.secret]: o.secrets ?? [], [API_KEYS.configMap]: o.configMaps ?? [] },
    { file: o.file, collectedAt: new Date().toISOString() },
  );
}

const stored = kubelabSecret(kubelab, true);

test("doctor keeps certificates only: no Secret key it reads names a private key", () => {
  const keys = SECRETS.flatMap((s) => s.keys);
  assert.deepEqual(keys, ["crt.pem", "tls.crt", "trust-anchor.crt"]);
});

test("linkerd.trust-anchor: the bundle holds kubelab's anchor: passes, saying which certificate it is", () => {
  let r = check("linkerd.trust-anchor", { secrets: [stored], configMaps: [trustRoots(kubelab.trustAnchor.certPEM)] });
  assert.deepEqual(r.findings, [
    {
      verdict: "pass",
      subject: "ConfigMap linkerd/linkerd-identity-trust-roots",
      evidence: [STORED, "ca-bundle.crt holds it: certificate 1 of 1"],
    },
  ]);
  // During a rotation the bundle holds the old anchor and the new.
  const bundle = `${foreign.trustAnchor.certPEM}${kubelab.trustAnchor.certPEM}`;
  r = check("linkerd.trust-anchor", { secrets: [stored], configMaps: [trustRoots(bundle)] });
  assert.equal(r.verdict, "pass");
  assert.deepEqual(r.findings[0]?.evidence.slice(1), ["ca-bundle.crt holds it: certificate 2 of 2"]);
});

test("linkerd.trust-anchor: another anchor in the cluster fails, each certificate shown", () => {
  const r = check("linkerd.trust-anchor", { secrets: [stored], configMaps: [trustRoots(foreign.trustAnchor.certPEM)] });
  assert.deepEqual(r.findings, [
    {
      verdict: "fail",
      subject: "ConfigMap linkerd/linkerd-identity-trust-roots",
      evidence: [
        STORED,
        `ca-bundle.crt certificate 1 of 1: ${describe(foreign.trustAnchor.certPEM)}`,
        "kubelab's anchor is not among them: proxies trust an anchor kubelab does not keep, and an issuer kubelab renews from its own will not be trusted",
      ],
      fix: "run kubelab up: it applies the stored anchor; meshed pods keep trusting the old one until restarted",
    },
  ]);
});

test("linkerd.trust-anchor: nothing stored warns; no bundle warns; a bundle or a stored anchor that does not parse fails", () => {
  let r = check("linkerd.trust-anchor", { configMaps: [trustRoots(kubelab.trustAnchor.certPEM)] });
  assert.deepEqual(r.findings, [
    {
      verdict: "warn",
      subject: "ConfigMap linkerd/linkerd-identity-trust-roots",
      evidence: [
        "no Secret kube-system/kubelab-linkerd-identity: kubelab stored no trust anchor (Linkerd installed by other means, or kubelab up not run)",
      ],
      fix: "run kubelab up: it stores a trust anchor in Secret kube-system/kubelab-linkerd-identity and applies it; meshed pods trust a new anchor only once restarted",
    },
  ]);
  r = check("linkerd.trust-anchor", { secrets: [stored] });
  assert.equal(r.verdict, "warn");
  assert.deepEqual(r.findings[0]?.evidence, [
    "no ConfigMap linkerd/linkerd-identity-trust-roots: Linkerd's control plane is not installed",
    STORED,
  ]);
  r = check("linkerd.trust-anchor", { secrets: [stored], configMaps: [trustRoots("not a certificate")] });
  assert.equal(r.verdict, "fail");
  assert.equal(
    r.findings[0]?.evidence[0],
    "ca-bundle.crt in ConfigMap linkerd/linkerd-identity-trust-roots is not a certificate: no PEM CERTIFICATE block",
  );
  const broken = {
    ...stored,
    data: {
      "trust-anchor.crt": Buffer.from("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").toString(
        "base64",
      ),
    },
  };
  r = check("linkerd.trust-anchor", { secrets: [broken], configMaps: [trustRoots(kubelab.trustAnchor.certPEM)] });
  assert.equal(r.verdict, "fail");
  assert.match(
    r.findings[0]?.evidence[0] ?? "",
    /^trust-anchor\.crt in Secret kube-system\/kubelab-linkerd-identity is not a certificate: /,
  );
  assert.match(r.findings[0]?.fix ?? "", /kubelab up cannot reuse it/);
  assert.equal(check("linkerd.trust-anchor", { file: NO_LINKERD_FILE }).verdict, "skip");
});

test("linkerd.issuer-chain: an issuer kubelab's anchor signed passes; one from another anchor of the same name fails", () => {
  let r = check("linkerd.issuer-chain", { secrets: [stored, issuerSecret(kubelab.issuerCertPEM)] });
  const issuerLine = (pem: string) => {
    const c = new X509Certificate(pem);
    return `crt.pem: CN=identity.linkerd.cluster.local, SHA-256 ${c.fingerprint256}, notAfter ${new Date(c.validTo).toISOString()}`;
  };
  assert.deepEqual(r.findings, [
    {
      verdict: "pass",
      subject: "Secret linkerd/linkerd-identity-issuer",
      evidence: [issuerLine(kubelab.issuerCertPEM), STORED, "issued by that anchor: the signature verifies"],
    },
  ]);
  r = check("linkerd.issuer-chain", { secrets: [stored, issuerSecret(foreign.issuerCertPEM)] });
  assert.deepEqual(r.findings, [
    {
      verdict: "fail",
      subject: "Secret linkerd/linkerd-identity-issuer",
      evidence: [
        issuerLine(foreign.issuerCertPEM),
        STORED,
        "issued by CN=root.linkerd.cluster.local, not signed by kubelab's anchor: proxies that trust it reject the certificates identity signs",
      ],
      fix: "run kubelab up: it applies to Secret linkerd/linkerd-identity-issuer the issuer it stored, which its anchor signed",
    },
  ]);
});

test("linkerd.issuer-chain: names that match are not enough: a signature that does not verify fails", () => {
  // kubelab's issuer with the last byte of its signature changed: same names and key identifiers.
  const der = Buffer.from(new X509Certificate(kubelab.issuerCertPEM).raw);
  der[der.length - 1] = (der.at(-1) ?? 0) ^ 0x01;
  const tampered = `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n")}\n-----END CERTIFICATE-----\n`;
  assert.ok(new X509Certificate(tampered).checkIssued(new X509Certificate(kubelab.trustAnchor.certPEM)));
  const r = check("linkerd.issuer-chain", { secrets: [stored, issuerSecret(tampered)] });
  assert.equal(r.verdict, "fail");
  assert.match(r.findings[0]?.evidence.at(-1) ?? "", /not signed by kubelab's anchor/);
});

test("linkerd.issuer-chain: no issuer warns (not installed), nothing stored warns, no certificate in the issuer fails", () => {
  let r = check("linkerd.issuer-chain", { secrets: [stored] });
  assert.equal(r.verdict, "warn");
  assert.deepEqual(r.findings[0]?.evidence, [
    "no Secret linkerd/linkerd-identity-issuer: Linkerd's control plane is not installed",
  ]);
  r = check("linkerd.issuer-chain", { secrets: [issuerSecret(kubelab.issuerCertPEM)] });
  assert.equal(r.verdict, "warn");
  assert.match(
    r.findings[0]?.evidence[0] ?? "",
    /^no Secret kube-system\/kubelab-linkerd-identity: kubelab stored no trust anchor/,
  );
  const empty = { ...issuerSecret(kubelab.issuerCertPEM), data: {} };
  r = check("linkerd.issuer-chain", { secrets: [stored, empty] });
  assert.equal(r.verdict, "fail");
  assert.deepEqual(r.findings[0]?.evidence, ["no crt.pem or tls.crt in Secret linkerd/linkerd-identity-issuer"]);
});

test("linkerd.issuer-expiry: read through node:crypto: a fresh issuer passes, one that is no certificate fails", () => {
  let r = check("linkerd.issuer-expiry", { secrets: [issuerSecret(kubelab.issuerCertPEM)] });
  assert.equal(r.verdict, "pass");
  assert.match(r.findings[0]?.evidence[0] ?? "", /^crt\.pem: notAfter \S+ \(in 36[45] days\)$/);
  const garbage = {
    ...issuerSecret(kubelab.issuerCertPEM),
    data: { "crt.pem": Buffer.from("junk").toString("base64") },
  };
  r = check("linkerd.issuer-expiry", { secrets: [garbage] });
  assert.equal(r.verdict, "fail");
  assert.deepEqual(r.findings[0]?.evidence, [
    "crt.pem in Secret linkerd/linkerd-identity-issuer is not a certificate: no PEM CERTIFICATE block",
  ]);
});
