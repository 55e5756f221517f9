/**
 * The Helm values and the kept-state Secret of kubelab's Linkerd: pure, from a LinkerdState
 * (trust anchor, issuer, webhook certificates) made elsewhere (src/addons/linkerd-identity.ts
 * generates the keys). Used by the Linkerd addon (src/addons/linkerd.ts) and by `kubelab render`.
 */
import { stringify } from "yaml";
import { type KubeObject, MANAGED_BY } from "./types.js";

/** Linkerd trust anchor (root CA). */
export interface TrustAnchor {
  /** PEM certificate; goes to `identityTrustAnchorsPEM`. */
  certPEM: string;
  /** PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`), kept so the anchor can be reused across runs. */
  keyPEM: string;
}

/** Linkerd identity material, ready to be put into the Helm values. */
export interface LinkerdIdentity {
  /** Trust anchor; `certPEM` goes to `identityTrustAnchorsPEM`. */
  trustAnchor: TrustAnchor;
  /** Issuer certificate PEM; goes to `identity.issuer.tls.crtPEM`. */
  issuerCertPEM: string;
  /** Issuer private key as SEC1 PEM (`-----BEGIN EC PRIVATE KEY-----`); goes to `identity.issuer.tls.keyPEM`. */
  issuerKeyPEM: string;
  /** Expiry of the issuer certificate (whole seconds, as encoded in the certificate). */
  issuerNotAfter: Date;
}

/** A TLS server certificate and its key (PKCS#8 PEM); self-signed, so it is also the CA bundle. */
export interface ServerCert {
  certPEM: string;
  keyPEM: string;
}

/** Where kubelab keeps a cluster's Linkerd trust anchor, issuer and webhook certificates. */
export const LINKERD_IDENTITY_SECRET = { name: "kubelab-linkerd-identity", namespace: "kube-system" } as const;

/** TRUST_ANCHOR_CERT is the key of the trust anchor's certificate in {@link LINKERD_IDENTITY_SECRET}. */
export const TRUST_ANCHOR_CERT = "trust-anchor.crt";

/**
 * The webhook servers the charts would give a new self-signed certificate at every render
 * (Helm's genSelfSignedCert): value key -> service host. kubelab makes each once and keeps it.
 */
export const WEBHOOKS = {
  controlPlane: {
    proxyInjector: "linkerd-proxy-injector.linkerd.svc",
    profileValidator: "linkerd-sp-validator.linkerd.svc",
    policyValidator: "linkerd-policy-validator.linkerd.svc",
  },
  viz: { tap: "tap.linkerd-viz.svc", tapInjector: "tap-injector.linkerd-viz.svc" },
} as const;

/** What kubelab keeps for a cluster's Linkerd. */
export interface LinkerdState {
  readonly identity: LinkerdIdentity;
  /** Webhook server certificates by chart value key (proxyInjector, tap, ...). */
  readonly webhooks: Readonly<Record<string, ServerCert>>;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** The Secret holding the state (data base64, as the API stores it, so re-applying is a no-op). */
export function stateSecret(state: LinkerdState): KubeObject {
  const { identity, webhooks } = state;
  const entries: [string, string][] = [
    [TRUST_ANCHOR_CERT, identity.trustAnchor.certPEM],
    ["trust-anchor.key", identity.trustAnchor.keyPEM],
    ["issuer.crt", identity.issuerCertPEM],
    ["issuer.key", identity.issuerKeyPEM],
    ...Object.entries(webhooks).flatMap(([k, c]): [string, string][] => [
      [`${k}.crt`, c.certPEM],
      [`${k}.key`, c.keyPEM],
    ]),
  ];
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { ...LINKERD_IDENTITY_SECRET, labels: { ...MANAGED_BY } },
    type: "Opaque",
    data: Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, b64(v)])),
  };
}

/** Helm values giving each webhook its kept certificate (self-signed: it is its own CA bundle). */
export function webhookValues(state: LinkerdState, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(
    keys.map((k) => {
      const c = state.webhooks[k];
      if (!c) throw new Error(`linkerd: no certificate for ${k}`);
      return [k, { crtPEM: c.certPEM, keyPEM: c.keyPEM, caBundle: c.certPEM }];
    }),
  );
}

/** The control plane's values: trust anchor, issuer, webhook certificates. */
export function controlPlaneValues(state: LinkerdState): string {
  const { identity } = state;
  return stringify({
    // The heartbeat CronJob reports usage to Linkerd's version-check service, which a lab
    // network may not reach; and with no schedule given, the chart derives one from the
    // render time, so every `up` would change it. Off, as Headlamp's telemetry is.
    disableHeartBeat: true,
    identityTrustAnchorsPEM: identity.trustAnchor.certPEM,
    identity: { issuer: { tls: { crtPEM: identity.issuerCertPEM, keyPEM: identity.issuerKeyPEM } } },
    ...webhookValues(state, Object.keys(WEBHOOKS.controlPlane)),
  });
}
