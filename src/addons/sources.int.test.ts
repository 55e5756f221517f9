// Where addon inputs fail: kubelab's online sources (the content-addressed download cache for
// pinned manifests, chart archives checked against their repository index) fed from the
// fixtures on loopback, with the network made to misbehave for real: altered bytes, a closed
// port (connection refused), a connection cut mid-download, cache files overwritten on disk.
// Every failure must be a clear error naming the URL and leave nothing wrong in the cache; a
// healed cache must work without the network. Then, on a real kube-apiserver + etcd, a bad
// source anywhere in the default plan must stop `up`'s addon install (render everything,
// then apply) before a single object of the earlier addons is applied.
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  RbacAuthorizationV1Api,
} from "@kubernetes/client-node";
import { parse } from "yaml";
import { startApiServer } from "../../test/helpers/apiserver.js";
import { fixtureFetch, helmTarball, linkerdChartRepository } from "../../test/helpers/charts.js";
import { cacheEntries, cutMidDownload, urlOf } from "../../test/helpers/downloads.js";
import { FIXTURES, readFixture } from "../../test/helpers/fixtures.js";
import { freePort } from "../../test/helpers/net.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { simulateWorkloads } from "../../test/helpers/workloads.js";
import type { ChartRef } from "../artifacts/chart-repository.js";
import { sha256 } from "../artifacts/local.js";
import { UserError } from "../errors.js";
import { kubeConfig } from "../kube/client.js";
import { loadCluster } from "../plan/load-cluster.js";
import type { Plan } from "../plan/types.js";
import { CALICO_NODE } from "../render/calico.js";
import { PINNED } from "../versions.js";
import { unpackHelm } from "./helm-binary.js";
import { applyAddons, enabledAddons, renderAddons } from "./index.js";
import { type AddonSources, onlineSources } from "./sources.js";

const HELM_REPO = `${PINNED.linkerd.helmRepository.replace(/\/$/, "")}/`;
const CRDS_CHART: ChartRef = {
  repository: PINNED.linkerd.helmRepository,
  name: "linkerd-crds",
  version: PINNED.linkerd.chartVersion,
};
const CRDS_ARCHIVE = `${HELM_REPO}linkerd-crds-${PINNED.linkerd.chartVersion}.tgz`;
const TAMPER = "# not the pinned file\n";

/** The upstream, as kubelab's downloads see it: up or down, and what was asked of it. */
interface Network {
  readonly fetch: typeof fetch;
  /** Every URL requested, in order (while down too). */
  readonly requests: string[];
  /** Down: every request goes to a loopback port nothing listens on (a real connection refused). */
  down(): void;
  up(): void;
}

/**
 * network answers the pinned URLs from the fixtures (fixtureFetch), with the Linkerd chart
 * repository's digests wrong when `tamperIndex`, and the body of each URL in `alter` changed
 * by its function (a compromised or broken mirror).
 */
async function network(
  t: TestContext,
  opts: { tamperIndex?: boolean; alter?: Record<string, (body: Buffer) => Buffer> } = {},
): Promise<Network> {
  const upstream = await fixtureFetch(t, await linkerdChartRepository(t, opts.tamperIndex ?? false));
  const closed = await freePort();
  const requests: string[] = [];
  let online = true;
  const f: typeof fetch = async (input, init) => {
    const url = urlOf(input);
    requests.push(url);
    if (!online) return fetch(`http://127.0.0.1:${closed}${new URL(url).pathname}`, init);
    const res = await upstream(input, init);
    const change = opts.alter?.[url];
    if (!change) return res;
    return new Response(new Uint8Array(change(Buffer.from(await res.arrayBuffer()))), { status: res.status });
  };
  return {
    fetch: f,
    requests,
    down: () => {
      online = false;
    },
    up: () => {
      online = true;
    },
  };
}

/** The error's cause chain, outermost first. */
function causes(e: unknown): unknown[] {
  const out: unknown[] = [];
  for (let c = e; c !== undefined && out.length < 10; c = (c as { cause?: unknown }).cause) out.push(c);
  return out;
}

test("a manifest whose bytes are not the pinned ones is an error naming the URL, both sha256s, and is not cached", async (t) => {
  const file = PINNED.metallb.manifest;
  const net = await network(t, { alter: { [file.url]: (b) => Buffer.concat([b, Buffer.from(TAMPER)]) } });
  const cache = await tempDir(t, "kubelab-cache-");
  const sources = onlineSources(cache, net.fetch);
  const served = sha256(readFixture(FIXTURES.metallb) + TAMPER);
  assert.notEqual(served, file.sha256);

  for (const attempt of [1, 2]) {
    await assert.rejects(sources.manifest(file), (e: UserError) => {
      assert.ok(e instanceof UserError, `${e}`);
      assert.equal(e.message, `sha256 mismatch for ${file.url} (download)`);
      assert.equal(e.details, `expected ${file.sha256}\ngot      ${served}`);
      assert.match(e.hint ?? "", /nothing was installed/);
      return true;
    });
    // Neither the file nor a partial download is left: the next run asks the network again.
    assert.deepEqual(await cacheEntries(cache), [], `attempt ${attempt}`);
    assert.equal(net.requests.length, attempt);
  }
});

test("an unreachable URL with an empty cache names the URL and the offline bundle; once cached, no network is needed", async (t) => {
  const file = PINNED.calico.manifest;
  const net = await network(t);
  const cache = await tempDir(t, "kubelab-cache-");
  const sources = onlineSources(cache, net.fetch);

  net.down();
  await assert.rejects(sources.manifest(file), (e: UserError) => {
    assert.ok(e instanceof UserError, `${e}`);
    assert.ok(e.message.startsWith(`cannot download ${file.url}: `), e.message);
    assert.match(e.hint ?? "", /offline bundle/);
    assert.equal(e.exitCode, 1);
    // The real network error underneath, not a stand-in.
    assert.ok(
      causes(e).some((c) => (c as { code?: string }).code === "ECONNREFUSED"),
      "no ECONNREFUSED in the cause chain",
    );
    return true;
  });
  assert.deepEqual(await cacheEntries(cache), []);

  net.up();
  const text = readFixture(FIXTURES.calico);
  assert.equal(await sources.manifest(file), text);
  assert.deepEqual(await cacheEntries(cache), [file.sha256]);

  // The network gone: this run and a later one (new sources on the same cache) read the cache.
  net.down();
  const asked = net.requests.length;
  assert.equal(await sources.manifest(file), text);
  assert.equal(await onlineSources(cache, net.fetch).manifest(file), text);
  assert.equal(net.requests.length, asked, "a cache hit asked the network");
});

test("a cached manifest that no longer matches its sha256 is fetched again, and without network is an error, never its bytes", async (t) => {
  const file = PINNED.headlamp.manifest;
  const net = await network(t);
  const cache = await tempDir(t, "kubelab-cache-");
  const sources = onlineSources(cache, net.fetch);
  const text = readFixture(FIXTURES.headlamp);
  const cached = join(cache, file.sha256);
  const corrupted = "kind: Corrupted\n";

  assert.equal(await sources.manifest(file), text);
  await writeFile(cached, corrupted);
  const asked = net.requests.length;
  assert.equal(await sources.manifest(file), text);
  assert.deepEqual(net.requests.slice(asked), [file.url]);
  assert.equal(sha256(await readFile(cached)), file.sha256, "the cache was not healed");

  await writeFile(cached, corrupted);
  net.down();
  await assert.rejects(sources.manifest(file), (e: UserError) => {
    assert.ok(e instanceof UserError, `${e}`);
    assert.ok(e.message.startsWith(`cannot download ${file.url}: `), e.message);
    assert.match(e.hint ?? "", /offline bundle/);
    assert.doesNotMatch(e.message, /Corrupted/);
    return true;
  });
  // The bad copy is gone, so no later run can be handed it.
  assert.deepEqual(await cacheEntries(cache), []);
});

test("a chart archive that does not match its repository index digest names the archive and the index, and is not cached", async (t) => {
  const net = await network(t, { tamperIndex: true });
  const cache = await tempDir(t, "kubelab-cache-");
  const sources = onlineSources(cache, net.fetch);
  // The archive the repository really serves (tamperIndex only changes index.yaml's digests).
  const real = sha256(Buffer.from(await (await net.fetch(CRDS_ARCHIVE)).arrayBuffer()));

  await assert.rejects(sources.chart(CRDS_CHART), (e: UserError) => {
    assert.ok(e instanceof UserError, `${e}`);
    assert.equal(e.message, `${CRDS_ARCHIVE} does not match the digest in ${HELM_REPO}index.yaml`);
    assert.equal(e.details, `expected ${"0".repeat(64)}\ngot      ${real}`);
    return true;
  });
  assert.deepEqual(await cacheEntries(cache), []);
});

test("a chart is remembered by its index digest: served from the cache offline, fetched again when the cached archive is corrupted", async (t) => {
  const net = await network(t);
  const cache = await tempDir(t, "kubelab-cache-");
  const sources = onlineSources(cache, net.fetch);
  const index = parse(await (await net.fetch(`${HELM_REPO}index.yaml`)).text()) as {
    entries: Record<string, { version: string; digest: string }[]>;
  };
  const digest = index.entries["linkerd-crds"]?.find((e) => e.version === PINNED.linkerd.chartVersion)?.digest;
  assert.match(digest ?? "", /^[0-9a-f]{64}$/);

  const data = await sources.chart(CRDS_CHART);
  assert.equal(sha256(data), digest);
  const pointer = join(cache, "charts", `linkerd-crds-${PINNED.linkerd.chartVersion}`);
  assert.equal(await readFile(pointer, "utf8"), `${digest}\n`);
  assert.deepEqual(
    await cacheEntries(cache),
    [digest ?? "", "charts", `charts/linkerd-crds-${PINNED.linkerd.chartVersion}`].sort(),
  );

  // Offline, the remembered archive (verified against the remembered digest).
  net.down();
  let asked = net.requests.length;
  assert.deepEqual(await sources.chart(CRDS_CHART), data);
  assert.equal(net.requests.length, asked, "a cache hit asked the network");

  // Corrupted and offline: an error naming the index it would need, never the bad bytes.
  const archive = join(cache, digest ?? "");
  await writeFile(archive, "not a chart");
  await assert.rejects(sources.chart(CRDS_CHART), (e: UserError) => {
    assert.ok(e instanceof UserError, `${e}`);
    assert.ok(e.message.startsWith(`cannot download ${HELM_REPO}index.yaml: `), e.message);
    return true;
  });

  // Corrupted and online: fetched again (index, then archive) and the cache healed.
  net.up();
  asked = net.requests.length;
  assert.deepEqual(await sources.chart(CRDS_CHART), data);
  assert.deepEqual(net.requests.slice(asked), [`${HELM_REPO}index.yaml`, CRDS_ARCHIVE]);
  assert.equal(sha256(await readFile(archive)), digest);
});

test("a chart download cut mid-archive is an error naming the archive URL", async (t) => {
  const net = await network(t);
  const cut = await cutMidDownload(t);
  const cache = await tempDir(t, "kubelab-cache-");
  const sources = onlineSources(cache, (input, init) =>
    urlOf(input) === CRDS_ARCHIVE ? fetch(`${cut}archive.tgz`, init) : net.fetch(input, init),
  );
  await assert.rejects(sources.chart(CRDS_CHART), (e: UserError) => {
    assert.ok(e instanceof UserError, `${e.name}: ${e.message}`);
    assert.ok(e.message.startsWith(`cannot download ${CRDS_ARCHIVE}: `), e.message);
    return true;
  });
  assert.deepEqual(await cacheEntries(cache), []);
});

/** The default plan (every addon) with online sources over `f` and the helm built here. */
function sourcesOver(tarball: string, cache: string, f: typeof fetch): AddonSources {
  const online = onlineSources(cache, f);
  return { ...online, helm: async () => unpackHelm(await readFile(tarball)) };
}

/** What up's installAddons does: render every addon, then apply. */
async function installAddons(kc: KubeConfig, plan: Plan, sources: AddonSources, only?: string) {
  const rendered = await renderAddons({ plan, sources, cluster: kc, now: new Date(), warn: () => {} });
  return applyAddons(
    kc,
    rendered.filter((r) => !only || r.addon.name === only),
    { timeoutMs: 60_000, log: () => {} },
  );
}

const SYSTEM_NAMESPACES = new Set(["default", "kube-system", "kube-public", "kube-node-lease"]);
const ADDON_NAME = /calico|metallb|headlamp|linkerd|kubelab|gateway/;

/** Objects an addon could have created (an API server without controllers has none of its own). */
async function addonObjects(kc: KubeConfig): Promise<string[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const name = (kind: string, o: { metadata?: { namespace?: string; name?: string } }) =>
    `${kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata?.name}`;
  return [
    ...(await core.listNamespace()).items
      .filter((n) => !SYSTEM_NAMESPACES.has(n.metadata?.name ?? ""))
      .map((o) => name("Namespace", o)),
    ...(await kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition()).items.map((o) =>
      name("CustomResourceDefinition", o),
    ),
    ...(await apps.listDaemonSetForAllNamespaces()).items.map((o) => name("DaemonSet", o)),
    ...(await apps.listDeploymentForAllNamespaces()).items.map((o) => name("Deployment", o)),
    ...(await core.listServiceAccountForAllNamespaces()).items.map((o) => name("ServiceAccount", o)),
    ...(await core.listSecretForAllNamespaces()).items.map((o) => name("Secret", o)),
    ...(await kc.makeApiClient(RbacAuthorizationV1Api).listClusterRole()).items
      .filter((o) => ADDON_NAME.test(o.metadata?.name ?? ""))
      .map((o) => name("ClusterRole", o)),
  ].sort();
}

test("a bad source anywhere in the plan stops the addons before anything is applied, and leaves no temp files", async (t) => {
  const tarball = helmTarball(t);
  if (!tarball) return;
  const server = await startApiServer(t);
  if (!server) return;
  const kc = kubeConfig(server.kubeconfig);
  const loaded = await loadCluster(undefined);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const plan = loaded.plan;
  assert.deepEqual(
    enabledAddons(plan).map((a) => a.name),
    ["calico", "metallb", "ui", "linkerd"],
  );
  assert.deepEqual(await addonObjects(kc), []);

  const cases = [
    {
      what: "the Headlamp manifest (third addon) is not the pinned file",
      net: await network(t, {
        alter: { [PINNED.headlamp.manifest.url]: (b) => Buffer.concat([b, Buffer.from(TAMPER)]) },
      }),
      error: `sha256 mismatch for ${PINNED.headlamp.manifest.url} (download)`,
      read: [PINNED.calico.manifest.url, PINNED.metallb.manifest.url, PINNED.headlamp.manifest.url],
    },
    {
      what: "the Linkerd chart (last source) does not match its index digest",
      net: await network(t, { tamperIndex: true }),
      error: `${CRDS_ARCHIVE} does not match the digest in ${HELM_REPO}index.yaml`,
      read: [
        PINNED.calico.manifest.url,
        PINNED.metallb.manifest.url,
        PINNED.headlamp.manifest.url,
        ...PINNED.gatewayApi.crds.map((f) => f.url),
        `${HELM_REPO}index.yaml`,
        CRDS_ARCHIVE,
      ],
    },
  ];
  for (const c of cases) {
    const cache = await tempDir(t, "kubelab-cache-");
    // helm and the charts are unpacked under os.tmpdir(): a private one shows what is left.
    const tmp = await tempDir(t, "kubelab-tmp-");
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      await assert.rejects(installAddons(kc, plan, sourcesOver(tarball, cache, c.net.fetch)), (e: UserError) => {
        assert.ok(e instanceof UserError, `${c.what}: ${e}`);
        assert.equal(e.message, c.error, c.what);
        return true;
      });
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    // The earlier addons were read and rendered (the failure came after them)...
    assert.deepEqual([...c.net.requests].sort(), [...c.read].sort(), c.what);
    // ...and none of their objects reached the API server.
    assert.deepEqual(await addonObjects(kc), [], c.what);
    await assert.rejects(kc.makeApiClient(CoreV1Api).readNamespace({ name: "metallb-system" }), { code: 404 });
    assert.deepEqual(await readdir(tmp), [], `${c.what}: temp files left`);
  }

  // The check sees applied objects: with good sources the same install applies (Calico here).
  simulateWorkloads(t, kc);
  const good = await network(t);
  await installAddons(kc, plan, sourcesOver(tarball, await tempDir(t, "kubelab-cache-"), good.fetch), "calico");
  const applied = await addonObjects(kc);
  assert.ok(applied.includes(`DaemonSet kube-system/${CALICO_NODE}`), applied.join("\n"));
  assert.ok(applied.includes("CustomResourceDefinition ippools.crd.projectcalico.org"), applied.join("\n"));
  assert.ok(!applied.some((o) => /metallb/.test(o)), applied.join("\n"));
});
