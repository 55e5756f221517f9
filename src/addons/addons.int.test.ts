// The addons, rendered from the pinned sources (fixtures served on loopback through kubelab's
// download cache; Linkerd's charts rendered by helm built from source) and applied to a real
// kube-apiserver + etcd. No kubelet runs, so a test stand-in writes the statuses a healthy
// rollout reaches; webhook configurations are left out (no pod could serve them) and are
// exercised on the nspawn cluster instead.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { startApiServer } from "../../test/helpers/apiserver.js";
import { fixtureSources } from "../../test/helpers/charts.js";
import { kubelab } from "../../test/helpers/cli.js";
import { simulateWorkloads } from "../../test/helpers/workloads.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { applyObjects } from "../kube/apply.js";
import { kubeConfig } from "../kube/client.js";
import { clusterDir, clusterPaths } from "../plan/cluster-dir.js";
import { loadCluster } from "../plan/load-cluster.js";
import type { Plan } from "../plan/types.js";
import { CALICO_NODE } from "../render/calico.js";
import { LINKERD_IDENTITY_SECRET, stateSecret } from "../render/linkerd-values.js";
import { UI_SERVICE } from "../render/ui.js";
import { type AddonsResult, applyAddons, type RenderedAddon, renderAddons } from "./index.js";
import { clusterState } from "./linkerd.js";
import { generateLinkerdIdentity } from "./linkerd-identity.js";
import { ensureStrictArp } from "./metallb.js";
import type { AddonSources } from "./sources.js";
import { uiToken } from "./ui.js";

async function defaultPlan(viz = false): Promise<Plan> {
  const r = await loadCluster(undefined);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const linkerd = r.plan.addons.linkerd;
  return linkerd.enabled ? { ...r.plan, addons: { ...r.plan.addons, linkerd: { ...linkerd, viz } } } : r.plan;
}

const withoutWebhooks = (rendered: RenderedAddon[]): RenderedAddon[] =>
  rendered.map((r) => ({
    ...r,
    steps: r.steps.map((s) => {
      const webhooks = s.objects.some((o) => o.kind.endsWith("WebhookConfiguration"));
      return {
        ...s,
        objects: s.objects.filter((o) => !o.kind.endsWith("WebhookConfiguration")),
        // A step's readiness that is its webhook answering (Linkerd's injection) cannot come without it.
        ready: webhooks ? undefined : s.ready,
      };
    }),
  }));

const render = (plan: Plan, sources: AddonSources, cluster?: KubeConfig) =>
  renderAddons({ plan, sources, cluster, now: new Date(), warn: () => {} });

test("every addon renders from its pinned sources, in order, with kubelab's settings in", async (t) => {
  const sources = await fixtureSources(t);
  if (!sources) return;
  const plan = await defaultPlan(true);
  const rendered = await render(plan, sources);
  assert.deepEqual(
    rendered.flatMap((r) => r.steps.map((s) => `${r.addon.name}: ${s.what}`)),
    [
      "calico: Calico v3.32.1",
      "metallb: MetalLB v0.16.1",
      "metallb: MetalLB address pool and L2 advertisement",
      "ui: Headlamp v0.45.0",
      "linkerd: Gateway API v1.5.1 CRDs",
      "linkerd: Linkerd edge-26.8.3 CRDs",
      "linkerd: Linkerd edge-26.8.3 control plane",
      "linkerd: Linkerd edge-26.8.3 viz",
    ],
  );
  const all = rendered.flatMap((r) => r.steps.flatMap((s) => s.objects));
  // Linkerd's CRDs come without Gateway API's (installGatewayAPI=false): one copy of each CRD.
  const crds = all.filter((o) => o.kind === "CustomResourceDefinition").map((o) => o.metadata.name);
  assert.equal(new Set(crds).size, crds.length, "a CRD is rendered twice");
  // The charts' webhook certificates are kubelab's (the same in the Secret and the config).
  const secret = all.find((o) => o.kind === "Secret" && o.metadata.name === LINKERD_IDENTITY_SECRET.name);
  const injector = all.find((o) => o.kind === "MutatingWebhookConfiguration") as unknown as {
    webhooks: { clientConfig: { caBundle: string } }[];
  };
  const kept = (secret?.data as Record<string, string> | undefined)?.["proxyInjector.crt"];
  assert.equal(
    Buffer.from(injector.webhooks[0]?.clientConfig.caBundle ?? "", "base64")
      .toString()
      .trim(),
    Buffer.from(kept ?? "", "base64")
      .toString()
      .trim(),
  );
});

test("applied to a real API server: CRs accepted, settings read back, a re-run changes nothing, the UI logs in", async (t) => {
  const sources = await fixtureSources(t);
  if (!sources) return;
  const server = await startApiServer(t);
  if (!server) return;
  const kc = kubeConfig(server.kubeconfig);
  const plan = await defaultPlan(true);
  const workloads = simulateWorkloads(t, kc);
  // MetalLB is what would give the UI Service its address; here the test does.
  const core = kc.makeApiClient(CoreV1Api);
  const giveAddress = setInterval(() => {
    core
      .readNamespacedServiceStatus({ name: UI_SERVICE, namespace: "kube-system" })
      .then((svc) =>
        svc.status?.loadBalancer?.ingress?.length
          ? undefined
          : core.replaceNamespacedServiceStatus({
              name: UI_SERVICE,
              namespace: "kube-system",
              body: { ...svc, status: { loadBalancer: { ingress: [{ ip: "192.168.56.46" }] } } },
            }),
      )
      .catch(() => {});
  }, 300);
  t.after(() => clearInterval(giveAddress));
  const lines: string[] = [];
  const opts = { timeoutMs: 60_000, log: (l: string) => lines.push(l) };
  const first: AddonsResult = await applyAddons(kc, withoutWebhooks(await render(plan, sources, kc)), opts);
  assert.ok(first.changed.length > 100, `${first.changed.length} objects created`);
  assert.deepEqual(first.notes, ["UI http://192.168.56.46/ (log in with the token from: kubelab ui)"]);

  // MetalLB's CRs, under the real CRD schemas.
  const custom = kc.makeApiClient(CustomObjectsApi);
  const pool = (await custom.getNamespacedCustomObject({
    group: "metallb.io",
    version: "v1beta1",
    namespace: "metallb-system",
    plural: "ipaddresspools",
    name: `kubelab-${plan.name}`,
  })) as { spec: { addresses: string[] } };
  assert.deepEqual(pool.spec.addresses, ["192.168.56.46-192.168.56.56"]);
  await custom.getNamespacedCustomObject({
    group: "metallb.io",
    version: "v1beta1",
    namespace: "metallb-system",
    plural: "l2advertisements",
    name: `kubelab-${plan.name}`,
  });

  // Linkerd's CRs (linkerd-viz's policies), under the CRDs linkerd-crds installed.
  const servers = (await custom.listNamespacedCustomObject({
    group: "policy.linkerd.io",
    version: "v1beta3",
    namespace: "linkerd-viz",
    plural: "servers",
  })) as { items: { metadata: { name: string } }[] };
  assert.ok(servers.items.length >= 2, JSON.stringify(servers.items.map((i) => i.metadata.name)));

  // calico-node's env, as the API server stored it.
  const ds = await kc.makeApiClient(AppsV1Api).readNamespacedDaemonSet({ name: CALICO_NODE, namespace: "kube-system" });
  const env = ds.spec?.template.spec?.containers.find((c) => c.name === CALICO_NODE)?.env ?? [];
  const names = env.map((e) => e.name);
  assert.equal(env.find((e) => e.name === "FELIX_HEALTHHOST")?.value, "127.0.0.1");
  assert.equal(env.find((e) => e.name === "IP_AUTODETECTION_METHOD")?.value, "can-reach=$(NODEIP)");
  assert.equal(env.find((e) => e.name === "CALICO_IPV4POOL_CIDR")?.value, plan.kubernetes.podSubnet);
  assert.ok(names.indexOf("NODEIP") < names.indexOf("IP_AUTODETECTION_METHOD"), names.join(" "));

  // A re-run renders the same objects (Linkerd's identity comes back from the cluster) and
  // the API server keeps every resourceVersion.
  const secretBefore = await core.readNamespacedSecret(LINKERD_IDENTITY_SECRET);
  await workloads.stop();
  const second = await applyAddons(kc, withoutWebhooks(await render(plan, sources, kc)), opts);
  assert.deepEqual(second.changed, []);
  const secretAfter = await core.readNamespacedSecret(LINKERD_IDENTITY_SECRET);
  assert.equal(secretAfter.metadata?.resourceVersion, secretBefore.metadata?.resourceVersion);
  const anchor = Buffer.from(secretAfter.data?.["trust-anchor.crt"] ?? "", "base64").toString();
  const trustRoots = await core.readNamespacedConfigMap({ name: "linkerd-identity-trust-roots", namespace: "linkerd" });
  assert.equal(trustRoots.data?.["ca-bundle.crt"]?.trim(), anchor.trim());

  // The UI token: a TokenRequest for kubelab's UI account.
  const token = await uiToken(kc, plan, 600);
  const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
  assert.equal(claims.sub, "system:serviceaccount:kube-system:kubelab-ui-admin");
  assert.ok(claims.exp - claims.iat <= 600, `lifetime ${claims.exp - claims.iat} s`);

  // The same through the CLI, with the kubeconfig `up` leaves in the cluster directory.
  const dir = await mkdtemp(join(tmpdir(), "kubelab-ui-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "kubelab.yaml");
  await writeFile(file, DEFAULT_CLUSTER_YAML);
  const own = clusterPaths(clusterDir(plan, file)).kubeconfig;
  await mkdir(dirname(own), { recursive: true });
  await writeFile(own, server.kubeconfig, { mode: 0o600 });
  const cli = await kubelab("ui", "-f", file, "--ttl", "15m");
  assert.equal(cli.code, 0, cli.err);
  assert.match(cli.out, /^url: {3}http:\/\/192\.168\.56\.46\/$/m);
  assert.match(cli.out, /^token: ey[\w-]+\.[\w-]+\.[\w-]+$/m);
  assert.equal((await kubelab("ui", "-f", file, "--ttl", "1m")).code, 2, "under the API server's 10 minute minimum");
});

test("Linkerd: the kept trust anchor is reused; an issuer within 30 days of expiry is renewed from it, with a warning", async (t) => {
  const server = await startApiServer(t);
  if (!server) return;
  const kc = kubeConfig(server.kubeconfig);
  const plan = await defaultPlan();
  const now = new Date();
  // An identity made 350 days ago whose issuer lives 365 days: 15 days left.
  const old = await generateLinkerdIdentity({ clock: { now: () => new Date(now.getTime() - 350 * 86_400_000) } });
  const ctx = { plan, sources: {} as AddonSources, cluster: kc, now, warn: (l: string) => warnings.push(l) };
  const warnings: string[] = [];
  const fresh = await clusterState(ctx);
  assert.notEqual(fresh.identity.trustAnchor.certPEM, old.trustAnchor.certPEM, "nothing kept yet: a new anchor");
  await applyObjects(kc, [stateSecret({ identity: old, webhooks: fresh.webhooks })]);
  const renewed = await clusterState(ctx);
  assert.equal(renewed.identity.trustAnchor.certPEM, old.trustAnchor.certPEM);
  assert.notEqual(renewed.identity.issuerCertPEM, old.issuerCertPEM);
  assert.ok(renewed.identity.issuerNotAfter.getTime() > now.getTime() + 300 * 86_400_000);
  assert.deepEqual(renewed.webhooks, fresh.webhooks);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? "", /issuer expires .* \(within 30 days\); renewing it from the same trust anchor/);
  // Kept again (as up does): the next run reuses issuer and all, silently.
  await applyObjects(kc, [stateSecret(renewed)]);
  const kept = await clusterState(ctx);
  assert.equal(kept.identity.issuerCertPEM, renewed.identity.issuerCertPEM);
  assert.equal(warnings.length, 1);
});

test("a field changed outside kubelab is a conflict naming its manager, until --force-conflicts", async (t) => {
  const sources = await fixtureSources(t);
  if (!sources) return;
  const server = await startApiServer(t);
  if (!server) return;
  const kc = kubeConfig(server.kubeconfig);
  const plan: Plan = await defaultPlan();
  const calicoOnly = (await render(plan, sources)).filter((r) => r.addon.name === "calico");
  simulateWorkloads(t, kc);
  const opts = { timeoutMs: 60_000, log: () => {} };
  await applyAddons(kc, calicoOnly, opts);
  // What `kubectl set env ds/calico-node FELIX_HEALTHHOST=localhost` does: an update by another manager.
  const apps = kc.makeApiClient(AppsV1Api);
  const ds = await apps.readNamespacedDaemonSet({ name: CALICO_NODE, namespace: "kube-system" });
  const c = ds.spec?.template.spec?.containers.find((x) => x.name === CALICO_NODE);
  const felix = c?.env?.find((e) => e.name === "FELIX_HEALTHHOST");
  assert.ok(felix);
  felix.value = "localhost";
  await apps.replaceNamespacedDaemonSet({
    name: CALICO_NODE,
    namespace: "kube-system",
    body: ds,
    fieldManager: "kubectl-set",
  });
  await assert.rejects(applyAddons(kc, calicoOnly, opts), (e: Error & { hint?: string }) => {
    assert.match(e.message, /calico: Calico v3\.32\.1: apply DaemonSet kube-system\/calico-node/);
    assert.match(e.message, /conflict with "kubectl-set"/);
    assert.match(e.message, /FELIX_HEALTHHOST/);
    assert.match(e.hint ?? "", /--force-conflicts/);
    return true;
  });
  const forced = await applyAddons(kc, calicoOnly, { ...opts, force: true });
  assert.deepEqual(forced.changed, ["DaemonSet kube-system/calico-node"]);
  const back = await apps.readNamespacedDaemonSet({ name: CALICO_NODE, namespace: "kube-system" });
  const value = back.spec?.template.spec?.containers
    .find((x) => x.name === CALICO_NODE)
    ?.env?.find((e) => e.name === "FELIX_HEALTHHOST")?.value;
  assert.equal(value, "127.0.0.1");
});

test("ui: dashboard is the archived Dashboard v2.7.0 with kubelab's login account and LoadBalancer, and a warning", async (t) => {
  const sources = await fixtureSources(t);
  if (!sources) return;
  const base = await defaultPlan();
  const plan: Plan = {
    ...base,
    addons: { ...base.addons, ui: { kind: "dashboard", version: "v2.7.0", archived: true } },
  };
  const warnings: string[] = [];
  const rendered = await renderAddons({ plan, sources, now: new Date(), warn: (l) => warnings.push(l) });
  const step = rendered.find((r) => r.addon.name === "ui")?.steps[0];
  assert.equal(step?.what, "Kubernetes Dashboard v2.7.0");
  const names = (step?.objects ?? []).map((o) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`);
  for (const want of [
    "Deployment kubernetes-dashboard/kubernetes-dashboard",
    "ServiceAccount kubernetes-dashboard/kubelab-ui-admin",
    "Service kubernetes-dashboard/kubelab-ui",
  ])
    assert.ok(names.includes(want), `${want} in ${names.join(", ")}`);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? "", /archived upstream/);
});

test("MetalLB with kube-proxy in IPVS mode: strictARP patched into a cluster that lacks it, kube-proxy restarted, once", async (t) => {
  const server = await startApiServer(t);
  if (!server) return;
  const kc = kubeConfig(server.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  // What kubeadm made on a cluster created without strictARP.
  await core.createNamespacedConfigMap({
    namespace: "kube-system",
    body: {
      metadata: { name: "kube-proxy" },
      data: {
        "config.conf":
          "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  strictARP: false\n  scheduler: rr\n",
      },
    },
  });
  await apps.createNamespacedDaemonSet({
    namespace: "kube-system",
    body: {
      metadata: { name: "kube-proxy" },
      spec: {
        selector: { matchLabels: { k8s: "kube-proxy" } },
        template: {
          metadata: { labels: { k8s: "kube-proxy" } },
          spec: { containers: [{ name: "kube-proxy", image: "registry.k8s.io/kube-proxy:v1.37.2" }] },
        },
      },
    },
  });
  assert.deepEqual(await ensureStrictArp(kc), [
    "ConfigMap kube-system/kube-proxy: ipvs.strictARP on (kube-proxy restarted)",
  ]);
  const cm = await core.readNamespacedConfigMap({ name: "kube-proxy", namespace: "kube-system" });
  assert.match(cm.data?.["config.conf"] ?? "", /strictARP: true/);
  assert.match(cm.data?.["config.conf"] ?? "", /scheduler: rr/, "the rest of the configuration kept");
  const ds = await apps.readNamespacedDaemonSet({ name: "kube-proxy", namespace: "kube-system" });
  assert.ok(ds.spec?.template.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"]);
  assert.deepEqual(await ensureStrictArp(kc), [], "already on: nothing to do");
});
