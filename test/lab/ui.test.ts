/**
 * The default web UI for real: Headlamp v0.45.0 (its image built from source,
 * scripts/dev-tools/headlamp-images.sh) installed by the default addons on 1 control plane + 2
 * workers as nspawn nodes, offline from a test bundle, with Calico (VXLAN) and MetalLB, and used
 * the way a person uses it: the URL and token `kubelab ui` prints, typed into a real browser
 * (Debian's Chromium, headless, driven by playwright-core), the cluster's nodes on the screen.
 * The screenshot of that page is kept under test-results/ui/ and its path printed.
 *
 * Tokens come from the TokenRequest API, whose shortest lifetime is 10 minutes: the token made
 * with `--ttl 10m` is made first and checked last, after it expired.
 *
 * Only addresses on the test bridge get traffic: the nodes and the MetalLB pool.
 */
import assert from "node:assert/strict";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import type { Browser } from "playwright-core";
import { stringify } from "yaml";
import { kubeConfig, poll } from "../../src/kube/client.js";
import { validateCluster } from "../../src/plan/validate.js";
import { bridgeName } from "../../src/providers/nspawn/network.js";
import { HEADLAMP, UI_SERVICE, uiAddress } from "../../src/render/ui.js";
import { launchBrowser, resultsDir } from "../helpers/browser.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { cliScenario, connectNodes } from "../helpers/cli-scenario.js";
import { kubectlWith } from "../helpers/kubectl.js";
import { announcer, httpFromHost } from "../helpers/loadbalancer.js";
import { nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";

const NS = HEADLAMP.namespace;
const SELECTOR = Object.entries(HEADLAMP.podLabels)
  .map(([k, v]) => `${k}=${v}`)
  .join(",");
/** How long after a token's `exp` the API server may still take it (go-jose's default leeway). */
const LEEWAY_MS = 60_000;

const podReady = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** The url and token lines of `kubelab ui`'s output. */
function uiOutput(out: string): { url: string; token: string } {
  const url = /^url: +(\S+)$/m.exec(out)?.[1];
  const token = /^token: +(\S+)$/m.exec(out)?.[1];
  assert.ok(url && token, `kubelab ui printed no url or token:\n${out}`);
  return { url, token };
}

/** When a JWT expires (its `exp` claim), in ms since the epoch. */
function expiry(token: string): number {
  const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as { exp: number };
  return claims.exp * 1000;
}

/**
 * What Headlamp's sign-in asks the cluster (a SelfSubjectRulesReview through Headlamp's own
 * proxy), with `token`: the HTTP status the API server answered.
 */
async function authStatus(url: string, cluster: string, token: string): Promise<number> {
  const res = await fetch(`${url}clusters/${cluster}/apis/authorization.k8s.io/v1/selfsubjectrulesreviews`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectRulesReview",
      spec: { namespace: "default" },
    }),
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  return res.status;
}

/**
 * signIn opens `url` in a fresh browser context, types `token` into Headlamp's sign-in dialog
 * and presses Authenticate; "refused" when Headlamp says it could not authenticate.
 */
async function signIn(browser: Browser, url: string, token: string) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(url);
  const field = page.getByLabel("ID token");
  await field.waitFor({ timeout: 60_000 });
  await field.fill(token);
  await page.getByRole("button", { name: "Authenticate" }).click();
  const outcome = await Promise.race([
    page
      .getByText("Error authenticating")
      .waitFor({ timeout: 30_000 })
      .then(() => "refused" as const),
    field.waitFor({ state: "detached", timeout: 30_000 }).then(() => "signed in" as const),
  ]);
  return { context, page, outcome };
}

describe("Headlamp on nspawn machines (the default UI, offline, in a real browser)", () => {
  it("the default addons serve Headlamp through MetalLB; a browser signs in with kubelab ui's token and sees the nodes", async (t) => {
    if (!requireNspawn(t)) return;
    const browser = await launchBrowser(t);
    if (!browser) return;
    const made = nspawnTestCluster("ui", { workers: 2 });
    const defaults = made.raw.addons as Record<string, unknown>;
    // Every default addon but Linkerd, whose images are not built here yet.
    const raw = { ...made.raw, addons: { ...defaults, linkerd: { enabled: false } } };
    const validated = validateCluster(raw);
    assert.ok(validated.ok, JSON.stringify(!validated.ok && validated.errors));
    const plan = validated.plan;
    assert.equal(plan.addons.ui.kind, "headlamp");
    const first = uiAddress(plan);
    assert.ok(first);

    const { dir, file, kubeconfig, hosts } = await cliScenario(t, "ui-lab");
    const bundle = join(dir, "bundle");
    const manifest = await createTestBundle(t, plan, bundle);
    if (!manifest) return;
    assert.ok(manifest.images.some((i) => i.name === "ghcr.io/headlamp-k8s/headlamp:v0.45.0"));
    const shots = await resultsDir("ui");
    t.after(() => process.stderr.write(`ui.test.ts: screenshots in ${shots}\n`));
    const step = steps(t);
    let kc: KubeConfig;
    let core: CoreV1Api;
    let url = "";
    let cluster = "";
    let shortToken = "";

    await step(
      "up with the default addons: Headlamp Available, its LoadBalancer Service on the pool's first address",
      async () => {
        await writeFile(file, stringify(raw));
        const r = await kubelab("up", "-f", file, "--bundle", bundle);
        assert.equal(r.code, 0, `${r.out}\n${r.err}`);
        assert.match(r.err, /✓ Headlamp v0\.45\.0/);
        assert.ok(r.out.includes(`UI http://${first}/`), r.out);
        kc = kubeConfig(await readFile(kubeconfig, "utf8"));
        core = kc.makeApiClient(CoreV1Api);
        const deployment = await kc
          .makeApiClient(AppsV1Api)
          .readNamespacedDeployment({ name: "headlamp", namespace: NS });
        assert.equal(deployment.status?.availableReplicas, 1);
        const svc = await core.readNamespacedService({ name: UI_SERVICE, namespace: NS });
        assert.equal(svc.spec?.externalTrafficPolicy, "Cluster");
        assert.equal(svc.status?.loadBalancer?.ingress?.[0]?.ip, first);
      },
    );

    await step("kubelab ui prints the URL and a token; one made with --ttl 10m is kept for the last step", async () => {
      const r = await kubelab("ui", "-f", file);
      assert.equal(r.code, 0, r.err);
      ({ url } = uiOutput(r.out));
      assert.equal(url, `http://${first}/`);
      const short = await kubelab("ui", "-f", file, "--ttl", "10m");
      assert.equal(short.code, 0, short.err);
      assert.match(short.out, /valid for 10m/);
      shortToken = uiOutput(short.out).token;
      const data = await kubelab("ui", "-f", file, "-o", "json");
      assert.equal(data.code, 0, data.err);
      const json = JSON.parse(data.out) as { url: string; token: string; expires: string };
      assert.equal(json.url, url);
      assert.ok(json.token.length > 0);
      assert.ok(Date.parse(json.expires) > Date.now() + 55 * 60_000, `the 1h token expires at ${json.expires}`);
      const left = expiry(shortToken) - Date.now();
      assert.ok(left > 9 * 60_000 && left <= 10 * 60_000 + 5_000, `the 10m token expires in ${left} ms`);
      const config = JSON.parse(await httpFromHost(`${url}config`)) as { clusters: { name: string }[] };
      assert.equal(config.clusters.length, 1, JSON.stringify(config));
      cluster = config.clusters[0]?.name ?? "";
      t.diagnostic(`Headlamp names the in-cluster context ${cluster}`);
    });

    await step("the UI answers this host over the test bridge through a node that does not run its pod", async () => {
      await connectNodes(plan, { file, hosts });
      const names = [...hosts.keys()];
      const bridge = bridgeName(plan.name);
      const headlampPod = async () => {
        const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: SELECTOR })).items;
        const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
        return live.length === 1 && podReady(live[0] as V1Pod) ? (live[0] as V1Pod) : undefined;
      };
      const announcing = async () => {
        await httpFromHost(url);
        const { mac, nodeMacs } = await announcer(bridge, first, hosts);
        return names[nodeMacs.indexOf(mac)] as string;
      };
      let pod = await headlampPod();
      let from = await announcing();
      if (pod?.spec?.nodeName === from) {
        // Move the pod off the announcing node, so the answer crosses nodes.
        t.diagnostic(`${from} announces ${first} and runs the pod: moving the pod`);
        const kubectl = kubectlWith(kubeconfig);
        const cordon = async (on: boolean) => {
          const r = await kubectl(on ? "cordon" : "uncordon", from);
          assert.equal(r.code, 0, r.err);
        };
        await cordon(true);
        try {
          await core.deleteNamespacedPod({ name: pod.metadata?.name ?? "", namespace: NS });
          pod = await poll(
            "Headlamp's new pod Ready",
            async () => {
              const p = await headlampPod();
              return p ? { done: true, value: p } : { done: false, pending: "no Ready pod" };
            },
            { timeoutMs: 180_000, intervalMs: 2_000 },
          );
        } finally {
          await cordon(false);
        }
        from = await announcing();
      }
      assert.ok(pod?.spec?.nodeName, "no Ready Headlamp pod");
      assert.notEqual(pod.spec.nodeName, from, `${from} both announces ${first} and runs the pod`);
      const index = await httpFromHost(url);
      assert.match(index, /<title>Headlamp<\/title>/);
      t.diagnostic(`${first} is announced by ${from}; the pod runs on ${pod.spec.nodeName}`);
    });

    await step("a real browser signs in with kubelab ui's token and finds every node in the nodes view", async () => {
      const bogus = await signIn(browser, url, "not-a-token");
      assert.equal(bogus.outcome, "refused", "Headlamp accepted a made-up token");
      await bogus.page.screenshot({ path: join(shots, "refused.png") });
      await bogus.context.close();

      const { token } = uiOutput((await kubelab("ui", "-f", file)).out);
      const { context, page, outcome } = await signIn(browser, url, token);
      await page.screenshot({ path: join(shots, "after-sign-in.png") });
      assert.equal(outcome, "signed in", "Headlamp refused kubelab ui's token");
      await page.goto(`${url}c/${cluster}/nodes`);
      for (const node of plan.nodes.map((n) => n.name))
        await page.getByRole("link", { name: node, exact: true }).first().waitFor({ timeout: 60_000 });
      const nodesShot = join(shots, "nodes.png");
      await page.screenshot({ path: nodesShot, fullPage: true });
      t.diagnostic(`the nodes view: ${nodesShot}`);
      await context.close();
    });

    await step("kubelab ui --open starts the desktop's opener with the URL; without one it says so", async () => {
      const bin = join(dir, "opener");
      await mkdir(bin);
      const opened = join(dir, "opened");
      await writeFile(join(bin, "xdg-open"), `#!/bin/sh\necho "$@" > ${opened}\n`);
      await chmod(join(bin, "xdg-open"), 0o755);
      const savedPath = process.env.PATH;
      try {
        process.env.PATH = `${bin}:${savedPath}`;
        const r = await kubelab("ui", "-f", file, "--open");
        assert.equal(r.code, 0, r.err);
        assert.match(r.out, new RegExp(`opening ${url} with xdg-open`));
        const got = await poll(
          "the opener ran",
          async () => {
            const text = await readFile(opened, "utf8").catch(() => "");
            return text ? { done: true, value: text.trim() } : { done: false, pending: "not yet" };
          },
          { timeoutMs: 10_000, intervalMs: 200 },
        );
        assert.equal(got, url);
        process.env.PATH = join(dir, "no-such-dir");
        const none = await kubelab("ui", "-f", file, "--open");
        assert.equal(none.code, 0, none.err);
        assert.match(none.out, /^url: +http:/m);
        assert.match(none.out, /no xdg-open on this machine \(no desktop\?\): open http:\S+ in a browser yourself/);
      } finally {
        process.env.PATH = savedPath;
      }
    });

    await step("doctor passes every check that applies with the UI running", async () => {
      const r = await kubelab("doctor", "-f", file);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      assert.match(r.out, /^0 failed, 0 warned, \d+ passed/m);
    });

    await step("the --ttl 10m token is refused once it expired; a fresh one from kubelab ui signs in", async () => {
      assert.equal(await authStatus(url, cluster, shortToken), 201, "the 10m token before it expired");
      const wait = expiry(shortToken) + LEEWAY_MS - Date.now();
      t.diagnostic(`waiting ${Math.round(wait / 1000)} s for the 10m token to expire`);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await poll(
        "the expired token refused",
        async () => {
          const status = await authStatus(url, cluster, shortToken);
          return status === 401 ? { done: true, value: status } : { done: false, pending: `HTTP ${status}` };
        },
        { timeoutMs: 120_000, intervalMs: 5_000 },
      );
      const expired = await signIn(browser, url, shortToken);
      await expired.page.screenshot({ path: join(shots, "expired.png") });
      assert.equal(expired.outcome, "refused", "Headlamp signed in with an expired token");
      await expired.context.close();
      const { token } = uiOutput((await kubelab("ui", "-f", file)).out);
      assert.equal(await authStatus(url, cluster, token), 201);
      const fresh = await signIn(browser, url, token);
      assert.equal(fresh.outcome, "signed in");
      await fresh.context.close();
    });
  });
});
