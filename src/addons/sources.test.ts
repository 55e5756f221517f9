// A download cut mid-way, for real on loopback: the error names the URL and the download cache
// keeps no partial file.
import assert from "node:assert/strict";
import { test } from "node:test";
import { cacheEntries, cutMidDownload, urlOf } from "../../test/helpers/downloads.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { UserError } from "../errors.js";
import { PINNED } from "../versions.js";
import { onlineSources } from "./sources.js";

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
