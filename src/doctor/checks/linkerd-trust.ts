/**
 * linkerd.trust-anchor: whether the anchor Linkerd's proxies trust (the chart's ConfigMap
 * linkerd/linkerd-identity-trust-roots) is the one kubelab stored in
 * kube-system/kubelab-linkerd-identity, from which it renews the issuer. Certificates are compared
 * byte for byte; the bundle may hold more than one (during a rotation), and holding kubelab's is
 * enough.
 */
import type { X509Certificate } from "node:crypto";
import { TRUST_ANCHOR_CERT } from "../../render/linkerd-values.js";
import { KUBELAB_ANCHOR, LINKERD_TRUST_ROOTS } from "../api.js";
import type { Check, Evidence, Finding } from "../types.js";
import { describeCertificate, placeName, readCertificates, sameCertificate } from "./certificates.js";

/** kubelab's stored anchor and an evidence line quoting it, or the finding that says why there is none. */
export function storedAnchor(
  e: Evidence,
  subject: string,
): { readonly cert: X509Certificate; readonly line: string } | { readonly finding: Finding } {
  const read = readCertificates(e, KUBELAB_ANCHOR);
  if (read.status === "ok")
    return {
      cert: read.certs[0],
      line: `kubelab's anchor (${TRUST_ANCHOR_CERT} in ${placeName(KUBELAB_ANCHOR)}): ${describeCertificate(read.certs[0])}`,
    };
  if (read.status === "invalid")
    return {
      finding: {
        verdict: "fail",
        subject,
        evidence: [read.line],
        fix: `kubelab up cannot reuse it: put the anchor's certificate and key back in ${placeName(KUBELAB_ANCHOR)}, or delete that Secret and run kubelab up (a new anchor: restart every meshed pod)`,
      },
    };
  return {
    finding: {
      verdict: "warn",
      subject,
      evidence: [
        `${read.line}: kubelab stored no trust anchor (Linkerd installed by other means, or kubelab up not run)`,
      ],
      fix: `run kubelab up: it stores a trust anchor in ${placeName(KUBELAB_ANCHOR)} and applies it; meshed pods trust a new anchor only once restarted`,
    },
  };
}

/** linkerd.trust-anchor: the anchor in the cluster is the one kubelab stored. */
export const trustAnchor: Check = {
  id: "linkerd.trust-anchor",
  title: "Linkerd's proxies trust the anchor kubelab stored",
  needs: ["api"],
  references: ["https://linkerd.io/2/tasks/manually-rotating-control-plane-tls-credentials/"],
  run(e, plan) {
    if (!plan.addons.linkerd.enabled) return [];
    const subject = placeName(LINKERD_TRUST_ROOTS);
    const anchor = storedAnchor(e, subject);
    if ("finding" in anchor) return [anchor.finding];
    const roots = readCertificates(e, LINKERD_TRUST_ROOTS);
    const apply = "run kubelab up: it applies the stored anchor; meshed pods keep trusting the old one until restarted";
    if (roots.status === "absent")
      return [
        {
          verdict: "warn",
          subject,
          evidence: [`${roots.line}: Linkerd's control plane is not installed`, anchor.line],
          fix: "run kubelab up: it installs Linkerd with the stored anchor",
        },
      ];
    if (roots.status !== "ok") return [{ verdict: "fail", subject, evidence: [roots.line, anchor.line], fix: apply }];
    const n = roots.certs.length;
    const at = roots.certs.findIndex((c) => sameCertificate(c, anchor.cert));
    if (at >= 0)
      return [
        { verdict: "pass", subject, evidence: [anchor.line, `${roots.key} holds it: certificate ${at + 1} of ${n}`] },
      ];
    return [
      {
        verdict: "fail",
        subject,
        evidence: [
          anchor.line,
          ...roots.certs.map((c, i) => `${roots.key} certificate ${i + 1} of ${n}: ${describeCertificate(c)}`),
          "kubelab's anchor is not among them: proxies trust an anchor kubelab does not keep, and an issuer kubelab renews from its own will not be trusted",
        ],
        fix: apply,
      },
    ];
  },
};
