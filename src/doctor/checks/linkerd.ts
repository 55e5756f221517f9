/**
 * Checks of Linkerd's identity as the API shows it: the issuer certificate (the only part of the
 * issuer Secret doctor ever reads), how long it has left and whether kubelab's stored anchor
 * signed it, and whether the anchor proxies trust is the one kubelab stored.
 */
import { ISSUER_RENEW_DAYS } from "../../addons/linkerd.js";
import { LINKERD_ISSUER } from "../api.js";
import type { Check, Finding } from "../types.js";
import { describeCertificate, notAfter, placeName, readCertificates, signedBy } from "./certificates.js";
import { controlPlane, injection } from "./linkerd-mesh.js";
import { storedAnchor, trustAnchor } from "./linkerd-trust.js";

const DAY_MS = 86_400_000;

/** The warning when the issuer Secret is not there: the control plane is not installed. */
const notInstalled = (subject: string, line: string): Finding => ({
  verdict: "warn",
  subject,
  evidence: [`${line}: Linkerd's control plane is not installed`],
  fix: "run kubelab up: it installs Linkerd with a generated issuer",
});

/** linkerd.issuer-expiry: how long Linkerd's issuer certificate has left. */
const issuerExpiry: Check = {
  id: "linkerd.issuer-expiry",
  title: `Linkerd's issuer certificate is valid for more than ${ISSUER_RENEW_DAYS} days`,
  needs: ["api"],
  references: ["https://linkerd.io/2/tasks/manually-rotating-control-plane-tls-credentials/"],
  run(e, plan) {
    if (!plan.addons.linkerd.enabled) return [];
    const subject = placeName(LINKERD_ISSUER);
    const renew = `run kubelab up: it renews an issuer within ${ISSUER_RENEW_DAYS} days of expiry from the kept trust anchor (kube-system/kubelab-linkerd-identity) and applies it to ${subject}`;
    const read = readCertificates(e, LINKERD_ISSUER);
    if (read.status === "absent") return [notInstalled(subject, read.line)];
    if (read.status !== "ok") return [{ verdict: "fail", subject, evidence: [read.line], fix: renew }];
    const [key, expiry] = [read.key, notAfter(read.certs[0])];
    // The time of collection, not of the check: a saved dump gives the same verdict later.
    const now = Date.parse(e.collectedAt);
    const days = (expiry.getTime() - now) / DAY_MS;
    const line = `${key}: notAfter ${expiry.toISOString()}`;
    if (days <= 0)
      return [
        {
          verdict: "fail",
          subject,
          evidence: [
            line,
            `expired ${Math.floor(-days)} days before ${e.collectedAt}: proxies cannot get new certificates, meshed traffic fails`,
          ],
          fix: renew,
        },
      ];
    if (days <= ISSUER_RENEW_DAYS)
      return [
        {
          verdict: "warn",
          subject,
          evidence: [line, `expires in ${Math.floor(days)} days (within ${ISSUER_RENEW_DAYS})`],
          fix: renew,
        },
      ];
    return [{ verdict: "pass", subject, evidence: [`${line} (in ${Math.floor(days)} days)`] }];
  },
};

/** linkerd.issuer-chain: kubelab's stored anchor signed the issuer certificate. */
const issuerChain: Check = {
  id: "linkerd.issuer-chain",
  title: "Linkerd's issuer certificate is signed by the trust anchor kubelab stored",
  needs: ["api"],
  references: ["https://linkerd.io/2/tasks/generate-certificates/"],
  run(e, plan) {
    if (!plan.addons.linkerd.enabled) return [];
    const subject = placeName(LINKERD_ISSUER);
    const reapply = `run kubelab up: it applies to ${subject} the issuer it stored, which its anchor signed`;
    const read = readCertificates(e, LINKERD_ISSUER);
    if (read.status === "absent") return [notInstalled(subject, read.line)];
    if (read.status !== "ok") return [{ verdict: "fail", subject, evidence: [read.line], fix: reapply }];
    const anchor = storedAnchor(e, subject);
    if ("finding" in anchor) return [anchor.finding];
    const issuer = read.certs[0];
    const lines = [`${read.key}: ${describeCertificate(issuer)}`, anchor.line];
    if (signedBy(issuer, anchor.cert))
      return [{ verdict: "pass", subject, evidence: [...lines, "issued by that anchor: the signature verifies"] }];
    return [
      {
        verdict: "fail",
        subject,
        evidence: [
          ...lines,
          `issued by ${issuer.issuer.replaceAll("\n", ", ")}, not signed by kubelab's anchor: proxies that trust it reject the certificates identity signs`,
        ],
        fix: reapply,
      },
    ];
  },
};

/** Linkerd's checks, in the order doctor reports them: the control plane, the mesh, then identity. */
export const linkerdChecks: readonly Check[] = [controlPlane, injection, trustAnchor, issuerExpiry, issuerChain];
