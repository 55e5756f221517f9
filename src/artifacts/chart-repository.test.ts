// A chart's pinned sha256 holds whatever the repository's index says: the index is served by the
// same place as the archive, so a matching index digest alone is not enough.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { stringify } from "yaml";
import { UserError } from "../errors.js";
import { fetchChart } from "./chart-repository.js";

const archive = Buffer.from("a chart archive, as the repository serves it");
const digest = createHash("sha256").update(archive).digest("hex");
const repository = "https://charts.example/edge/";

/** A repository whose index names `archive` with its true digest. */
const served = (async (input: string | URL | Request) => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  if (url === `${repository}index.yaml`)
    return new Response(stringify({ entries: { demo: [{ version: "1.0.0", urls: ["demo-1.0.0.tgz"], digest }] } }));
  if (url === `${repository}demo-1.0.0.tgz`) return new Response(archive);
  return new Response("", { status: 404 });
}) as typeof fetch;

test("fetchChart: an archive with the pinned sha256 (and the index's digest) is returned", async () => {
  const got = await fetchChart({ repository, name: "demo", version: "1.0.0", sha256: digest }, served);
  assert.deepEqual(got, { data: archive, url: `${repository}demo-1.0.0.tgz` });
});

test("fetchChart: an archive the index vouches for but with another sha256 than the pinned one is refused", async () => {
  const pinned = "0".repeat(64);
  await assert.rejects(fetchChart({ repository, name: "demo", version: "1.0.0", sha256: pinned }, served), (e) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.message, `${repository}demo-1.0.0.tgz is not the pinned chart demo 1.0.0`);
    assert.equal(e.details, `pinned sha256 ${pinned}\ngot           ${digest}`);
    return true;
  });
});
