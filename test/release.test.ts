import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { VERSION } from "../src/cli/main.js";

const read = (path: string) => readFile(new URL(`../${path}`, import.meta.url), "utf8");

test("the version is written once (package.json) and the CLI reports it", async () => {
  const pkg = JSON.parse(await read("package.json")) as { version: string };
  assert.equal(VERSION, pkg.version);
});

test("CHANGELOG.md (Keep a Changelog) has an entry for this version, newest first", async () => {
  const pkg = JSON.parse(await read("package.json")) as { version: string };
  const changelog = await read("CHANGELOG.md");
  const versions = [...changelog.matchAll(/^## \[([^\]]+)\]/gm)].map((m) => m[1]);
  assert.ok(versions.length > 0, "no release headings (## [x.y.z] - date)");
  const released = versions.filter((v) => v !== "Unreleased");
  assert.equal(released[0], pkg.version, "the newest released entry is package.json's version");
  assert.match(changelog, new RegExp(`^## \\[${pkg.version.replaceAll(".", "\\.")}\\] - \\d{4}-\\d{2}-\\d{2}$`, "m"));
});
