/**
 * Linkerd (edge) from its Helm charts, rendered with the pinned helm: the Gateway API
 * standard CRDs at the version Linkerd asks for, then `linkerd-crds` (installGatewayAPI=false,
 * the CRDs being already there), then `linkerd-control-plane` with kubelab's trust anchor and
 * issuer (ECDSA P-256, made in TypeScript), optionally `linkerd-viz`.
 *
 * The trust anchor is made once per cluster and kept in the cluster, in Secret
 * kube-system/kubelab-linkerd-identity, with the issuer and the webhooks' certificates
 * (which the charts would otherwise regenerate at every render): every later `up` renders the
 * same objects (nothing changes), and a new anchor never replaces the one meshed pods trust
 * (rotating it breaks mTLS between them). An issuer within 30 days of expiry is renewed from
 * the same anchor, with a warning.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { stringify } from "yaml";
import type { ChartRef } from "../artifacts/chart-repository.js";
import type { Plan } from "../plan/types.js";
import { withAdmissionDefaults } from "../render/admission-defaults.js";
import {
  controlPlaneValues,
  LINKERD_IDENTITY_SECRET,
  type LinkerdIdentity,
  type LinkerdState,
  type ServerCert,
  stateSecret,
  WEBHOOKS,
  webhookValues,
} from "../render/linkerd-values.js";
import { parseManifest } from "../render/manifests.js";
import { type KubeObject, MANAGED_BY } from "../render/types.js";
import { PINNED } from "../versions.js";
import { helmTemplate } from "./helm-binary.js";
import {
  generateLinkerdIdentity,
  issuerExpiresWithin,
  issuerNotAfter,
  selfSignedServerCert,
} from "./linkerd-identity.js";
import { waitForInjection } from "./linkerd-injection.js";
import { withChartFile } from "./sources.js";
import type { Addon, AddonContext, AddonStep } from "./types.js";

/** Days before the issuer's expiry when kubelab renews it (from the same anchor). */
export const ISSUER_RENEW_DAYS = 30;

const unb64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, "base64").toString("utf8"));

/**
 * The cluster's Linkerd state: what is stored (the issuer renewed when due, missing webhook
 * certificates added), or new.
 */
export async function clusterState(
  ctx: Pick<AddonContext, "plan" | "cluster" | "now" | "warn">,
): Promise<LinkerdState> {
  const clock = { now: () => ctx.now };
  const secret = ctx.cluster
    ? await ctx.cluster
        .makeApiClient(CoreV1Api)
        .readNamespacedSecret(LINKERD_IDENTITY_SECRET)
        .catch((e: { code?: number }) => {
          if (e.code === 404) return undefined;
          throw e;
        })
    : undefined;
  const get = (key: string) => unb64(secret?.data?.[key]);
  const identity = await storedIdentity(ctx, get);
  const hosts: Record<string, string> = {
    ...WEBHOOKS.controlPlane,
    ...(ctx.plan.addons.linkerd.enabled && ctx.plan.addons.linkerd.viz ? WEBHOOKS.viz : {}),
  };
  const webhooks: Record<string, ServerCert> = {};
  for (const [key, host] of Object.entries(hosts)) {
    const [certPEM, keyPEM] = [get(`${key}.crt`), get(`${key}.key`)];
    webhooks[key] = certPEM && keyPEM ? { certPEM, keyPEM } : await selfSignedServerCert(host, { clock });
  }
  return { identity, webhooks };
}

async function storedIdentity(
  ctx: Pick<AddonContext, "plan" | "now" | "warn">,
  get: (key: string) => string | undefined,
): Promise<LinkerdIdentity> {
  const clusterDomain = ctx.plan.kubernetes.dnsDomain;
  const clock = { now: () => ctx.now };
  const [anchorCrt, anchorKey, issuerCrt, issuerKey] = [
    "trust-anchor.crt",
    "trust-anchor.key",
    "issuer.crt",
    "issuer.key",
  ].map(get);
  if (!anchorCrt || !anchorKey) return generateLinkerdIdentity({ clusterDomain, clock });
  const trustAnchor = { certPEM: anchorCrt, keyPEM: anchorKey };
  if (issuerCrt && issuerKey && !issuerExpiresWithin({ issuerCertPEM: issuerCrt }, ISSUER_RENEW_DAYS, ctx.now)) {
    return {
      trustAnchor,
      issuerCertPEM: issuerCrt,
      issuerKeyPEM: issuerKey,
      issuerNotAfter: issuerNotAfter(issuerCrt),
    };
  }
  if (issuerCrt)
    ctx.warn(
      `linkerd: the identity issuer expires ${issuerNotAfter(issuerCrt).toISOString()} (within ${ISSUER_RENEW_DAYS} days); renewing it from the same trust anchor`,
    );
  return generateLinkerdIdentity({ clusterDomain, clock, existingTrustAnchor: trustAnchor });
}

/**
 * The namespace `linkerd install` would create (the charts render it only for the CLI):
 * privileged pod security, because linkerd-init needs NET_ADMIN without the Linkerd CNI.
 */
function namespace(name: string, controlPlane: boolean): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name,
      annotations: { "linkerd.io/inject": "disabled" },
      labels: {
        ...MANAGED_BY,
        ...(controlPlane
          ? { "linkerd.io/is-control-plane": "true", "linkerd.io/control-plane-ns": name }
          : { "linkerd.io/extension": "viz" }),
        "config.linkerd.io/admission-webhooks": "disabled",
        "pod-security.kubernetes.io/enforce": "privileged",
      },
    },
  };
}

/** linkerdCharts are the charts kubelab installs Linkerd from (crds first), with their pinned sha256 where known. */
export function linkerdCharts(
  repository: string,
  version: string,
  viz: boolean,
  sums: Readonly<Partial<Record<string, string>>> = PINNED.linkerd.chartSha256,
): ChartRef[] {
  return ["linkerd-crds", "linkerd-control-plane", ...(viz ? ["linkerd-viz"] : [])].map((name) => {
    const sha256 = sums[name];
    return { repository, name, version, ...(sha256 ? { sha256 } : {}) };
  });
}

const charts = (plan: Plan) =>
  plan.addons.linkerd.enabled
    ? linkerdCharts(PINNED.linkerd.helmRepository, PINNED.linkerd.chartVersion, plan.addons.linkerd.viz)
    : [];

export const linkerd: Addon = {
  name: "linkerd",
  enabled: (plan) => plan.addons.linkerd.enabled,
  manifests: () => PINNED.gatewayApi.crds,
  charts,
  async steps(ctx) {
    const { plan, sources } = ctx;
    const gatewayApi = (await Promise.all(PINNED.gatewayApi.crds.map((f) => sources.manifest(f))))
      .flatMap(parseManifest)
      // Its safe-upgrades ValidatingAdmissionPolicy, in the form the API server stores.
      .map(withAdmissionDefaults);
    const state = await clusterState(ctx);
    const kubeVersion = plan.kubernetes.version;
    const helm = await sources.helm();
    const dir = await mkdtemp(join(tmpdir(), "kubelab-charts-"));
    try {
      const render = async (name: string, ns: string, values?: string) => {
        const ref = charts(plan).find((c) => c.name === name);
        if (!ref) throw new Error(`linkerd: no chart ${name} in the plan`);
        const data = await sources.chart(ref);
        return parseManifest(
          await withChartFile(dir, name, data, (path) =>
            helmTemplate(helm.path, path, { release: name, namespace: ns, kubeVersion, values }),
          ),
        );
      };
      const crds = await render("linkerd-crds", "linkerd", "installGatewayAPI: false\n");
      const controlPlane = await render("linkerd-control-plane", "linkerd", controlPlaneValues(state));
      const steps: AddonStep[] = [
        { what: `Gateway API ${PINNED.gatewayApi.version} CRDs`, objects: gatewayApi },
        { what: `Linkerd ${PINNED.linkerd.version} CRDs`, objects: crds },
        {
          what: `Linkerd ${PINNED.linkerd.version} control plane`,
          objects: [namespace("linkerd", true), stateSecret(state), ...controlPlane],
          // Available is not enough: pods created before the webhook answers get no proxy.
          ready: async (kc, opts) => {
            await waitForInjection(kc, opts);
            return [];
          },
        },
      ];
      if (plan.addons.linkerd.enabled && plan.addons.linkerd.viz) {
        const viz = await render(
          "linkerd-viz",
          "linkerd-viz",
          stringify(webhookValues(state, Object.keys(WEBHOOKS.viz))),
        );
        steps.push({
          what: `Linkerd ${PINNED.linkerd.version} viz`,
          objects: [namespace("linkerd-viz", false), ...viz],
          // Its policy CRs go through the control plane's policy validator webhook.
          webhook: true,
        });
      }
      return steps;
    } finally {
      await rm(dir, { recursive: true, force: true });
      await helm.remove();
    }
  },
};
