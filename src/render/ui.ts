/**
 * The web UI: Headlamp by default, or the Kubernetes Dashboard v2.7.0 (archived upstream in
 * January 2026) with `ui: dashboard`.
 *
 * Upstream's own manifest is applied (for Headlamp after {@link transformHeadlamp}); on top of it
 * kubelab owns three objects, rendered by {@link uiObjects}:
 * - ServiceAccount `kubelab-ui-admin`, the identity a human logs in with;
 * - ClusterRoleBinding of that account to `cluster-admin`;
 * - Service `kubelab-ui` of type LoadBalancer, so the UI gets a MetalLB address reachable from
 *   the host (labs often use a NodePort plus a LoadBalancer 443->8443 for the Dashboard).
 *
 * No long-lived token Secret is rendered: the login token is requested at run time through the
 * TokenRequest API (short-lived, bound to the account), instead of the usual `admin-user` token
 * Secret, which never expires and sits in etcd.
 */
import { formatIpv4, parseRange } from "../net/ipv4.js";
import type { Plan } from "../plan/types.js";
import { PINNED } from "../versions.js";
import { type KubeObject, MANAGED_BY } from "./types.js";

/** Name of the ServiceAccount (and ClusterRoleBinding) a human logs in to the UI with. */
export const UI_ADMIN = "kubelab-ui-admin";
/** Name of the LoadBalancer Service kubelab puts in front of the UI. */
export const UI_SERVICE = "kubelab-ui";

/** Where each UI runs and how to reach its pods, as its pinned upstream manifest defines them. */
export interface UiTarget {
  readonly namespace: string;
  /** Labels of the upstream Deployment's pod template (the Service selector). */
  readonly podLabels: Readonly<Record<string, string>>;
  /** Port the LoadBalancer Service listens on. */
  readonly port: number;
  /** The UI container's port. */
  readonly targetPort: number;
  readonly portName: string;
}

/**
 * From headlamp v0.45.0 `kubernetes-headlamp.yaml`: Deployment `headlamp` in kube-system, pod
 * label `k8s-app: headlamp`, container port 4466 (`http`; 9090 is `metrics`). Plain HTTP:
 * upstream's own Service is 80 -> 4466. ui.int.test.ts checks these against the fixture.
 */
export const HEADLAMP: UiTarget = {
  namespace: "kube-system",
  podLabels: { "k8s-app": "headlamp" },
  port: 80,
  targetPort: 4466,
  portName: "http",
};

/**
 * From dashboard v2.7.0 `aio/deploy/recommended.yaml`: Deployment `kubernetes-dashboard` in
 * namespace kubernetes-dashboard, pod label `k8s-app: kubernetes-dashboard`, HTTPS on 8443 with
 * an auto-generated certificate; exposed as 443 -> 8443.
 */
export const DASHBOARD: UiTarget = {
  namespace: "kubernetes-dashboard",
  podLabels: { "k8s-app": "kubernetes-dashboard" },
  port: 443,
  targetPort: 8443,
  portName: "https",
};

/** MetalLB's annotation (v0.13+, `metallb.io/`) asking for given addresses for a Service. */
export const METALLB_ADDRESS_ANNOTATION = "metallb.io/loadBalancerIPs";

/**
 * The UI's address: the first address of the first MetalLB pool, asked for by annotation so
 * the UI's URL is known from the plan (printed before it runs, a Terraform output) and stays
 * the same when the Service is re-created. Undefined without MetalLB.
 */
export function uiAddress(plan: Plan): string | undefined {
  const metallb = plan.addons.metallb;
  const pool = metallb.enabled ? metallb.pools[0] : undefined;
  const range = pool === undefined ? undefined : parseRange(pool);
  return range ? formatIpv4(range.first) : undefined;
}

/** The target for the plan's UI, or undefined for `ui: none`. */
export function uiTarget(plan: Plan): UiTarget | undefined {
  const ui = plan.addons.ui;
  if (ui.kind === "none") return undefined;
  return ui.kind === "headlamp" ? HEADLAMP : DASHBOARD;
}

/**
 * The objects kubelab owns for the plan's UI: `[ServiceAccount, ClusterRoleBinding, Service]`,
 * or `[]` for `ui: none`. Pure; they go in after the upstream manifest (the namespace
 * `kubernetes-dashboard` is created by the Dashboard's own manifest).
 */
export function uiObjects(plan: Plan): KubeObject[] {
  const target = uiTarget(plan);
  if (target === undefined) return [];
  const { namespace } = target;
  const address = uiAddress(plan);
  return [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: UI_ADMIN, namespace, labels: { ...MANAGED_BY } },
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: UI_ADMIN, labels: { ...MANAGED_BY } },
      // cluster-admin on purpose: this is a disposable lab on a host-only network, and the UI is
      // meant to show and edit everything. Do not copy this binding to a shared cluster.
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "ServiceAccount", name: UI_ADMIN, namespace }],
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name: UI_SERVICE,
        namespace,
        labels: { ...MANAGED_BY },
        ...(address ? { annotations: { [METALLB_ADDRESS_ANNOTATION]: address } } : {}),
      },
      spec: {
        type: "LoadBalancer",
        // Cluster, not Local (metallb#1777/#258): with Local, MetalLB
        // L2 announces the IP from one node, and if the single UI pod runs elsewhere that node
        // has no local endpoint: ARP is answered but TCP SYNs get no reply, the classic
        // "LoadBalancer IP never answers from the host". Client source IPs do not matter for a lab UI.
        externalTrafficPolicy: "Cluster",
        selector: { ...target.podLabels },
        ports: [{ name: target.portName, protocol: "TCP", port: target.port, targetPort: target.targetPort }],
      },
    },
  ];
}

/** Env vars of upstream's Headlamp container that configure telemetry export. */
const HEADLAMP_TELEMETRY_ENV: ReadonlySet<string> = new Set([
  "HEADLAMP_CONFIG_TRACING_ENABLED",
  "HEADLAMP_CONFIG_METRICS_ENABLED",
  "HEADLAMP_CONFIG_OTLP_ENDPOINT",
  "HEADLAMP_CONFIG_SERVICE_NAME",
  "HEADLAMP_CONFIG_SERVICE_VERSION",
]);

const HEADLAMP_IMAGE_REPO = "ghcr.io/headlamp-k8s/headlamp";

/**
 * Turns headlamp's plain `kubernetes-headlamp.yaml` (parsed) into what kubelab applies. Upstream
 * ships it as a demo (`:latest`, telemetry env, a token Secret for an account it never makes), so
 * three things change; everything else is returned as is:
 *
 * 1. The image `ghcr.io/headlamp-k8s/headlamp:latest` becomes `PINNED.headlamp.image`: `:latest`
 *    floats (unpinned versions are how labs rot) and makes
 *    two nodes run different builds.
 * 2. The telemetry env (tracing and metrics on, OTLP endpoint `otel-collector:4317`, service
 *    name/version "latest") is removed: no otel-collector exists in the lab, so the exporter
 *    would retry a name that does not resolve forever, filling logs and the DNS path, and the
 *    advertised version would be wrong after pinning.
 * 3. The `headlamp-admin` Secret of type service-account-token is dropped: upstream never
 *    creates that ServiceAccount, so the Secret is dangling (the token controller deletes such
 *    Secrets, so every re-apply would recreate it and never converge), and kubelab does not want
 *    long-lived tokens anyway (logins use TokenRequest for `kubelab-ui-admin`, see uiObjects).
 *
 * The input is never mutated.
 *
 * @throws Error if the plan's UI is not Headlamp, or the manifest has no Deployment `headlamp`
 *   with a `headlamp` container (not the pinned manifest: stop rather than apply `:latest`).
 */
export function transformHeadlamp(objects: readonly KubeObject[], plan: Plan): KubeObject[] {
  const ui = plan.addons.ui;
  if (ui.kind !== "headlamp") throw new Error(`transformHeadlamp: the plan's UI is "${ui.kind}", not headlamp`);
  // The image tag comes from the same PINNED row as the manifest URL; refuse if the plan drifted.
  if (ui.version !== PINNED.headlamp.version) {
    throw new Error(`transformHeadlamp: plan wants Headlamp ${ui.version} but kubelab pins ${PINNED.headlamp.version}`);
  }
  let sawContainer = false;
  const out: KubeObject[] = [];
  for (const original of objects) {
    if (isDanglingHeadlampToken(original)) continue;
    if (!(original.kind === "Deployment" && original.metadata.name === "headlamp")) {
      out.push(original);
      continue;
    }
    const deployment = structuredClone(original) as KubeObject;
    for (const c of podContainers(deployment)) {
      if (typeof c.image === "string" && isHeadlampImage(c.image)) c.image = PINNED.headlamp.image;
      if (c.name === "headlamp") sawContainer = true;
      if (Array.isArray(c.env)) {
        const env = (c.env as unknown[]).filter((e) => !isTelemetryEnv(e));
        if (env.length > 0) c.env = env;
        else delete c.env;
      }
    }
    out.push(deployment);
  }
  if (!sawContainer) {
    throw new Error(
      "transformHeadlamp: no Deployment headlamp with a container headlamp; is it the pinned kubernetes-headlamp.yaml?",
    );
  }
  return out;
}

function isDanglingHeadlampToken(o: KubeObject): boolean {
  return (
    o.kind === "Secret" &&
    o.type === "kubernetes.io/service-account-token" &&
    o.metadata.annotations?.["kubernetes.io/service-account.name"] === "headlamp-admin"
  );
}

/** `repo`, `repo:latest` or any other tag of the Headlamp image (not digests of other images). */
function isHeadlampImage(image: string): boolean {
  return image === HEADLAMP_IMAGE_REPO || image.startsWith(`${HEADLAMP_IMAGE_REPO}:`);
}

function isTelemetryEnv(e: unknown): boolean {
  if (!isRecord(e)) return false;
  if (typeof e.name === "string" && HEADLAMP_TELEMETRY_ENV.has(e.name)) return true;
  // Any other variable aimed at the collector that upstream may add later.
  return typeof e.value === "string" && e.value.includes("otel-collector");
}

/** containers and initContainers of a Deployment's pod template. */
function podContainers(deployment: KubeObject): Record<string, unknown>[] {
  const spec = deployment.spec;
  const template = isRecord(spec) ? spec.template : undefined;
  const podSpec = isRecord(template) ? template.spec : undefined;
  if (!isRecord(podSpec)) return [];
  return [podSpec.initContainers, podSpec.containers].flatMap((list) =>
    Array.isArray(list) ? list.filter(isRecord) : [],
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
