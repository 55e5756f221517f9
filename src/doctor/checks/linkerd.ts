/**
 * Checks of Linkerd as the API shows it: the issuer certificate (the only part of the issuer
 * Secret doctor ever reads) and how long it has left.
 */
import { ISSUER_RENEW_DAYS } from "../../addons/linkerd.js";
import { issuerNotAfter } from "../../addons/linkerd-identity.js";
import { API_KEYS, ISSUER_CERT_KEYS, LINKERD_ISSUER } from "../api.js";
import { nameOf, namespaceOf, stringMap } from "../object.js";
import type { Check } from "../types.js";
import { items } from "./common.js";

const DAY_MS = 86_400_000;

/** linkerd.issuer-expiry: how long Linkerd's issuer certificate has left. */
const issuerExpiry: Check = {
  id: "linkerd.issuer-expiry",
  title: `Linkerd's issuer certificate is valid for more than ${ISSUER_RENEW_DAYS} days`,
  needs: ["api"],
  references: ["https://linkerd.io/2/tasks/manually-rotating-control-plane-tls-credentials/"],
  run(e, plan) {
    if (!plan.addons.linkerd.enabled) return [];
    const subject = `Secret ${LINKERD_ISSUER.namespace}/${LINKERD_ISSUER.name}`;
    const secret = items(e, API_KEYS.secret).find(
      (s) => namespaceOf(s) === LINKERD_ISSUER.namespace && nameOf(s) === LINKERD_ISSUER.name,
    );
    const renew = `run kubelab up: it renews an issuer within ${ISSUER_RENEW_DAYS} days of expiry from the kept trust anchor (kube-system/kubelab-linkerd-identity) and applies it to ${subject}`;
    if (!secret)
      return [
        {
          verdict: "warn",
          subject,
          evidence: [`no ${subject}: Linkerd's control plane is not installed`],
          fix: "run kubelab up: it installs Linkerd with a generated issuer",
        },
      ];
    const data = stringMap(secret, "data");
    const key = ISSUER_CERT_KEYS.find((k) => data[k] !== undefined);
    if (!key)
      return [
        { verdict: "fail", subject, evidence: [`no ${ISSUER_CERT_KEYS.join(" or ")} in ${subject}`], fix: renew },
      ];
    let notAfter: Date;
    try {
      notAfter = issuerNotAfter(Buffer.from(data[key] as string, "base64").toString("utf8"));
    } catch (err) {
      return [
        { verdict: "fail", subject, evidence: [`${key} is not a certificate: ${(err as Error).message}`], fix: renew },
      ];
    }
    // The time of collection, not of the check: a saved dump gives the same verdict later.
    const now = Date.parse(e.collectedAt);
    const days = (notAfter.getTime() - now) / DAY_MS;
    const line = `${key}: notAfter ${notAfter.toISOString()}`;
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

export const linkerdChecks: readonly Check[] = [issuerExpiry];
