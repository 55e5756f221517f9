// Charts fetched from a Helm repository on loopback, laid out as `helm repo index` makes one:
// the Linkerd charts of the fixtures packaged (tar.gz with the chart directory at the top)
// at the pinned chart version, index.yaml with each archive's URL and sha256 digest.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { linkerdChartRepository } from "../../test/helpers/charts.js";
import { linkerdCharts } from "../addons/linkerd.js";
import { PINNED } from "../versions.js";
import { fetchChart } from "./chart-repository.js";

const version = PINNED.linkerd.chartVersion;

test("the pinned Linkerd charts come from the repository index, checked against its digest", async (t) => {
  const repo = await linkerdChartRepository(t);
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
  const repo = await linkerdChartRepository(t, true);
  await assert.rejects(
    fetchChart({ repository: repo, name: "linkerd-crds", version }),
    /does not match the digest in .*index\.yaml/,
  );
});
