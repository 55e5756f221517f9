// Charts fetched from a Helm repository on loopback, laid out as `helm repo index` makes one:
// the Linkerd charts of the fixtures packaged (tar.gz with the chart directory at the top)
// at the pinned chart version, index.yaml with each archive's URL and sha256 digest.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { stringify } from "yaml";
import { fixturePath } from "../../test/helpers/fixtures.js";
import { serveDirectory } from "../../test/helpers/packages.js";
import { cacheDir } from "../../test/helpers/tools.js";
import { unpackHelm } from "../addons/helm.js";
import { sha256 } from "../artifacts/local.js";
import { PINNED } from "../versions.js";
import { imagesOfChart } from "./create.js";
import { fetchChart, linkerdCharts } from "./helm.js";

const version = PINNED.linkerd.chartVersion;

/** The helm release tarball scripts/dev-tools/helm.sh packs from its build (skipped when missing, outside CI). */
function helmTarball(t: TestContext): string | undefined {
  const arch = execFileSync("dpkg", ["--print-architecture"]).toString().trim();
  const path = cacheDir("helm", PINNED.helm.version, `helm-${PINNED.helm.version}-linux-${arch}.tar.gz`);
  if (existsSync(path)) return path;
  const why = `${path} is missing: run scripts/dev-tools/helm.sh`;
  if (process.env.CI === "true") throw new Error(`${why} (CI=true, so not skipping)`);
  t.skip(why);
  return undefined;
}

async function helmRepository(t: TestContext, tamper = false) {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-helm-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const entries: Record<string, unknown[]> = {};
  for (const name of ["linkerd-crds", "linkerd-control-plane"]) {
    const src = join(dir, "src", name);
    await cp(fixturePath(`linkerd/${PINNED.linkerd.version}/charts/${name}`), src, { recursive: true });
    // What the release does when it packages a chart: its dependency (partials) vendored
    // under charts/, the real version in Chart.yaml, the release tag for linkerdVersion.
    await cp(fixturePath(`linkerd/${PINNED.linkerd.version}/charts/partials`), join(src, "charts", "partials"), {
      recursive: true,
    });
    const chart = await readFile(join(src, "Chart.yaml"), "utf8");
    await writeFile(join(src, "Chart.yaml"), chart.replace(/^version: .*$/m, `version: ${version}`));
    const values = await readFile(join(src, "values.yaml"), "utf8").catch(() => undefined);
    if (values !== undefined)
      await writeFile(
        join(src, "values.yaml"),
        values.replace("linkerdVersion: linkerdVersionValue", `linkerdVersion: ${PINNED.linkerd.version}`),
      );
    const archive = `${name}-${version}.tgz`;
    execFileSync("tar", ["-C", join(dir, "src"), "-czf", join(dir, archive), name]);
    const digest = sha256(await readFile(join(dir, archive)));
    entries[name] = [{ name, version, urls: [archive], digest: tamper ? "0".repeat(64) : digest }];
  }
  await writeFile(join(dir, "index.yaml"), stringify({ apiVersion: "v1", entries }));
  const served = await serveDirectory(dir, "127.0.0.1");
  t.after(served.close);
  return served.url;
}

test("the pinned Linkerd charts come from the repository index, checked against its digest", async (t) => {
  const repo = await helmRepository(t);
  for (const ref of linkerdCharts(repo, version, false)) {
    const { data, url } = await fetchChart(ref);
    assert.equal(url, `${repo}${ref.name}-${version}.tgz`);
    const listing = execFileSync("tar", ["-tzf", "-"], { input: data }).toString();
    assert.match(listing, new RegExp(`^${ref.name}/Chart\\.yaml$`, "m"));
  }
  await assert.rejects(
    fetchChart({ repository: repo, name: "linkerd-crds", version: "2026.1.1" }),
    /has no linkerd-crds 2026\.1\.1/,
  );
});

test("Linkerd's images, from the charts rendered by the pinned helm (built from source here)", async (t) => {
  const tarball = helmTarball(t);
  if (!tarball) return;
  const helm = await unpackHelm(await readFile(tarball));
  t.after(helm.remove);
  const repo = await helmRepository(t);
  const crds = await fetchChart({ repository: repo, name: "linkerd-crds", version });
  assert.deepEqual(await imagesOfChart(helm.path, crds.data, "linkerd-crds", PINNED.kubernetes.version), []);
  const cp = await fetchChart({ repository: repo, name: "linkerd-control-plane", version });
  const images = await imagesOfChart(helm.path, cp.data, "linkerd-control-plane", PINNED.kubernetes.version);
  t.diagnostic(images.join(", "));
  for (const name of ["controller", "proxy"])
    assert.ok(
      images.includes(`cr.l5d.io/linkerd/${name}:${PINNED.linkerd.version}`),
      `${name} in ${images.join(", ")}`,
    );
  for (const image of images) assert.match(image, /^cr\.l5d\.io\/linkerd\/[a-z-]+:\S+$/);
});

test("an archive that does not match the index digest is refused", async (t) => {
  const repo = await helmRepository(t, true);
  await assert.rejects(
    fetchChart({ repository: repo, name: "linkerd-crds", version }),
    /does not match the digest in .*index\.yaml/,
  );
});
