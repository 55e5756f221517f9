// kubelab version: kubelab's version and commit, Node's, and the pinned versions.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { kubelab } from "../../test/helpers/cli.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { PINNED } from "../versions.js";
import { buildCommit, pinnedVersions } from "./commands/version.js";
import { VERSION } from "./main.js";

describe("kubelab version", () => {
  it("prints kubelab's version, the commit (unknown from source), Node's, and every pin", async () => {
    const r = await kubelab("version");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^kubelab ${VERSION.replace(/\./g, "\\.")} \\(commit unknown\\)$`, "m"));
    assert.match(r.out, new RegExp(`^node ${process.version}$`, "m"));
    assert.match(r.out, new RegExp(`^ +kubernetes +${PINNED.kubernetes.version}$`, "m"));
    assert.match(r.out, new RegExp(`^ +containerd 2\\.x +${PINNED.containerd["2.x"].version}$`, "m"));
    assert.match(r.out, new RegExp(`^ +calico +${PINNED.calico.version}$`, "m"));
  });

  it("-o json has the same", async () => {
    const json = JSON.parse((await kubelab("version", "-o", "json")).out);
    assert.equal(json.kubelab, VERSION);
    assert.equal(json.commit, "unknown");
    assert.equal(json.node, process.version);
    assert.equal(json.pinned.helm, PINNED.helm.version);
    assert.equal(json.pinned["vagrantBox virtualbox"], `bento/ubuntu-24.04 ${PINNED.vagrantBox.virtualbox.version}`);
  });

  it("--version still prints the version alone", async () => {
    const r = await kubelab("--version");
    assert.equal(r.code, 0);
    assert.equal(r.out.trim(), VERSION);
  });

  it("the commit comes from the build's record when there is one", async (t) => {
    const dir = await tempDir(t);
    const info = join(dir, "build-info.json");
    assert.equal(buildCommit(pathToFileURL(info)), "unknown");
    await writeFile(info, JSON.stringify({ commit: "0123abcd" }));
    assert.equal(buildCommit(pathToFileURL(info)), "0123abcd");
    await writeFile(info, "not json");
    assert.equal(buildCommit(pathToFileURL(info)), "unknown");
  });

  it("a new pin shows without edits: anything with a version, one level down too", () => {
    assert.deepEqual(pinnedVersions({ a: { version: "1" }, b: { x: { version: "2" } }, c: { minimum: "3" }, d: 4 }), {
      a: "1",
      "b x": "2",
      c: ">= 3",
    });
  });
});
