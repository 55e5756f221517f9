// Charts fetched from a Helm repository on loopback, laid out as `helm repo index` makes one:
// the Linkerd charts of the fixtures packaged (tar.gz with the chart directory at the top)
// at the pinned chart version, index.yaml with each archive's URL and sha256 digest.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { stringify } from "yaml";
import { fixturePath } from "../../test/helpers/fixtures.js";
import { serveDirectory } from "../../test/helpers/packages.js";
import { sha256 } from "../artifacts/local.js";
import { PINNED } from "../versions.js";
import { fetchChart, linkerdCharts } from "./helm.js";

const version = PINNED.linkerd.chartVersion;

async function helmRepository(t: TestContext, tamper = false) {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-helm-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const entries: Record<string, unknown[]> = {};
  for (const name of ["linkerd-crds", "linkerd-control-plane"]) {
    const src = join(dir, "src", name);
    await cp(fixturePath(`linkerd/${PINNED.linkerd.version}/charts/${name}`), src, { recursive: true });
    // What the release does when it packages a chart: the real version in Chart.yaml.
    const chart = await readFile(join(src, "Chart.yaml"), "utf8");
    await writeFile(join(src, "Chart.yaml"), chart.replace(/^version: .*$/m, `version: ${version}`));
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

test("an archive that does not match the index digest is refused", async (t) => {
  const repo = await helmRepository(t, true);
  await assert.rejects(
    fetchChart({ repository: repo, name: "linkerd-crds", version }),
    /does not match the digest in .*index\.yaml/,
  );
});
