// A download cut mid-way, for real on loopback: the error names the URL and the download cache
// keeps no partial file. A bundled chart must have the pinned sha256.
import assert from "node:assert/strict";
import { test } from "node:test";
import { cacheEntries, cutMidDownload, urlOf } from "../../test/helpers/downloads.js";
import { tempDir } from "../../test/helpers/tmp.js";
import type { BundleManifest } from "../artifacts/offline-bundle.js";
import { UserError } from "../errors.js";
import { PINNED } from "../versions.js";
import { bundleSources, onlineSources } from "./sources.js";

test("a connection cut mid-download is an error naming the URL and leaves no partial file in the cache", async (t) => {
  const file = PINNED.metallb.manifest;
  const cut = await cutMidDownload(t);
  const cache = await tempDir(t, "kubelab-cache-");
  const sources = onlineSources(cache, (input, init) => fetch(`${cut}${new URL(urlOf(input)).pathname}`, init));
  await assert.rejects(sources.manifest(file), (e: UserError) => {
    assert.ok(e instanceof UserError, `${e.name}: ${e.message}`);
    assert.ok(e.message.startsWith(`cannot download ${file.url}: `), e.message);
    return true;
  });
  assert.deepEqual(await cacheEntries(cache), []);
});

test("bundleSources: a bundled chart with another sha256 than the pinned one is refused", async (t) => {
  const dir = await tempDir(t, "kubelab-bundle-");
  const bundled = { name: "demo-1.0.0.tgz", sha256: "1".repeat(64) };
  const manifest = {
    charts: [{ name: "demo", version: "1.0.0", url: "https://charts.example/demo.tgz", file: bundled }],
  };
  const sources = bundleSources(dir, manifest as unknown as BundleManifest);
  const ref = { repository: "https://charts.example/", name: "demo", version: "1.0.0", sha256: "2".repeat(64) };
  await assert.rejects(sources.chart(ref), (e) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.message, "the bundle's demo-1.0.0.tgz is not the pinned chart demo 1.0.0");
    assert.equal(e.hint, "make the bundle again with kubelab bundle create");
    return true;
  });
});
