// A repository that cannot be reached: one clear error naming the URL, with what to do.
import assert from "node:assert/strict";
import { test } from "node:test";
import { UserError } from "../errors.js";
import { readRepository } from "./apt.js";

test("readRepository: no network or an HTTP error is a clear error naming the URL and the mirror option", async () => {
  const repo = { url: "https://pkgs.example/deb/", keyUrl: undefined } as unknown as Parameters<
    typeof readRepository
  >[0];
  const offline = (async () => {
    throw new TypeError("fetch failed");
  }) as unknown as typeof fetch;
  const missing = (async () => new Response("", { status: 404 })) as unknown as typeof fetch;
  for (const [f, why] of [
    [offline, "fetch failed"],
    [missing, "HTTP 404"],
  ] as const) {
    const e = await readRepository(repo, { fetch: f }).catch((err: unknown) => err);
    assert.ok(e instanceof UserError);
    assert.equal(e.message, `cannot download https://pkgs.example/deb/Release: ${why}`);
    assert.equal(e.exitCode, 1);
    assert.match(e.hint ?? "", /--mirror/);
  }
});
