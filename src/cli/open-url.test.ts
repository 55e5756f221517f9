import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { findOnPath, openerFor, openUrl } from "./open-url.js";

test("openerFor: open on macOS, xdg-open on Linux and the rest", () => {
  assert.equal(openerFor("darwin"), "open");
  assert.equal(openerFor("linux"), "xdg-open");
  assert.equal(openerFor("freebsd"), "xdg-open");
});

test("openUrl starts the opener it finds on PATH with the URL, and says so", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-open-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const empty = join(dir, "empty");
  const bin = join(dir, "bin");
  await writeFile(join(dir, "xdg-open"), ""); // not executable: skipped
  for (const d of [empty, bin]) await mkdir(d);
  await writeFile(join(bin, "xdg-open"), "#!/bin/sh\n");
  await chmod(join(bin, "xdg-open"), 0o755);
  const started: string[][] = [];
  const path = [empty, dir, bin].join(":");
  assert.equal(findOnPath("xdg-open", path), join(bin, "xdg-open"));
  const line = openUrl("http://10.0.0.200/", {
    platform: "linux",
    path,
    start: (p, u) => started.push([p, u]),
  });
  assert.deepEqual(started, [[join(bin, "xdg-open"), "http://10.0.0.200/"]]);
  assert.equal(line, "opening http://10.0.0.200/ with xdg-open");
});

test("openUrl without an opener starts nothing and says to open the URL by hand", () => {
  const started: string[] = [];
  const line = openUrl("http://10.0.0.200/", { platform: "darwin", path: "", start: (p) => started.push(p) });
  assert.deepEqual(started, []);
  assert.equal(line, "no open on this machine (no desktop?): open http://10.0.0.200/ in a browser yourself");
});
