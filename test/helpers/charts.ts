/**
 * Addon inputs for tests, from the fixtures: the pinned manifests served on loopback at
 * their upstream paths, a Helm repository of the Linkerd charts packaged the way Linkerd's
 * release packages them, and helm built from source (scripts/dev-tools/helm.sh). Together
 * they drive kubelab's real download path (cache, checksums, index digests).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { stringify } from "yaml";
import { unpackHelm } from "../../src/addons/helm-binary.js";
import { type AddonSources, onlineSources } from "../../src/addons/sources.js";
import { sha256 } from "../../src/artifacts/local.js";
import { PINNED } from "../../src/versions.js";
import { fixturePath, fixturesDir } from "./fixtures.js";
import { serveDirectory } from "./packages.js";
import { need } from "./prereq.js";
import { cacheDir } from "./tools.js";

const VERSION = PINNED.linkerd.chartVersion;
const TAG = PINNED.linkerd.version;

/** The helm release tarball scripts/dev-tools/helm.sh packs from its build (skipped when missing, outside CI). */
export function helmTarball(t: Pick<TestContext, "skip">): string | undefined {
  const arch = execFileSync("dpkg", ["--print-architecture"]).toString().trim();
  const path = cacheDir("helm", PINNED.helm.version, `helm-${PINNED.helm.version}-linux-${arch}.tar.gz`);
  return need(t, path, existsSync(path), "run scripts/dev-tools/helm.sh") ? path : undefined;
}

const CHARTS: Record<string, string> = {
  "linkerd-crds": "charts/linkerd-crds",
  "linkerd-control-plane": "charts/linkerd-control-plane",
  "linkerd-viz": "viz/charts/linkerd-viz",
};

/**
 * linkerdChartRepository serves the fixtures' Linkerd charts as a Helm repository on
 * loopback: each packaged as the release does (partials vendored under charts/, the chart
 * version in Chart.yaml, the release tag for linkerdVersion), index.yaml with URL and digest
 * (`tamper`: wrong digests). Returns the repository URL (ends with /).
 */
export async function linkerdChartRepository(t: Pick<TestContext, "after">, tamper = false): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-helm-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const entries: Record<string, unknown[]> = {};
  for (const [name, path] of Object.entries(CHARTS)) {
    const src = join(dir, "src", name);
    await cp(fixturePath(`linkerd/${TAG}/${path}`), src, { recursive: true });
    await cp(fixturePath(`linkerd/${TAG}/charts/partials`), join(src, "charts", "partials"), { recursive: true });
    const chart = await readFile(join(src, "Chart.yaml"), "utf8");
    await writeFile(join(src, "Chart.yaml"), chart.replace(/^version: .*$/m, `version: ${VERSION}`));
    const values = await readFile(join(src, "values.yaml"), "utf8").catch(() => undefined);
    if (values !== undefined)
      await writeFile(
        join(src, "values.yaml"),
        values.replace("linkerdVersion: linkerdVersionValue", `linkerdVersion: ${TAG}`),
      );
    const archive = `${name}-${VERSION}.tgz`;
    execFileSync("tar", ["-C", join(dir, "src"), "-czf", join(dir, archive), name]);
    const digest = sha256(await readFile(join(dir, archive)));
    entries[name] = [{ name, version: VERSION, urls: [archive], digest: tamper ? "0".repeat(64) : digest }];
  }
  await writeFile(join(dir, "index.yaml"), stringify({ apiVersion: "v1", entries }));
  const served = await serveDirectory(dir, "127.0.0.1");
  t.after(served.close);
  return served.url;
}

/**
 * fixtureFetch answers the pinned upstream URLs from loopback servers: raw GitHub files from
 * the fixtures (laid out `<project>/<tag>/<path>`), the Linkerd Helm repository from `charts`.
 * Any other URL is refused, so nothing leaves the machine.
 */
export async function fixtureFetch(t: TestContext, charts: string): Promise<typeof fetch> {
  const served = await serveDirectory(fixturesDir(), "127.0.0.1");
  t.after(served.close);
  const helmRepo = PINNED.linkerd.helmRepository.replace(/\/?$/, "/");
  return (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const raw = /^https:\/\/raw\.githubusercontent\.com\/[^/]+\/(.+)$/.exec(url);
    if (raw) return fetch(`${served.url}${raw[1]}`, init);
    if (url.startsWith(helmRepo)) return fetch(charts + url.slice(helmRepo.length), init);
    return Promise.reject(new Error(`test fetch: ${url} is not served here`));
  };
}

/**
 * fixtureSources are kubelab's online addon sources (download cache in a temp dir, every
 * checksum checked) fetching from the fixtures, with the helm built here (its tarball is not
 * the pinned upstream file, so it is unpacked directly). Undefined when helm is missing (skipped).
 */
export async function fixtureSources(t: TestContext): Promise<AddonSources | undefined> {
  const tarball = helmTarball(t);
  if (!tarball) return undefined;
  const cache = await mkdtemp(join(tmpdir(), "kubelab-cache-"));
  t.after(() => rm(cache, { recursive: true, force: true }));
  const online = onlineSources(cache, await fixtureFetch(t, await linkerdChartRepository(t)));
  return { ...online, helm: async () => unpackHelm(await readFile(tarball)) };
}
