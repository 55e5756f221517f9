// kubelab up --dry-run's exit codes, in-process: what would stop up exits 1 with every
// problem and its fix (existing hosts on loopback ports that refuse), and
// --detailed-exitcode keeps 2 for "changes" (terraform plan's convention), so it needs
// --dry-run and turns a bad cluster file's 2 into 1.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { kubelab } from "../../test/helpers/cli.js";
import { closedPort, sshLabFile } from "../../test/helpers/ssh-lab.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";

describe("up --dry-run exit codes", () => {
  it("unreachable existing hosts: exit 1, each with its reason, nothing to create", async (t) => {
    const refused = await closedPort();
    const file = await sshLabFile(t, [refused, refused, refused]);
    for (const detailed of [[], ["--detailed-exitcode"]]) {
      const r = await kubelab("up", "-f", file, "--dry-run", ...detailed);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /^- master-1 is unreachable: ECONNREFUSED from 127\.0\.0\.1:\d+\n {2}fix: start the host/m);
      assert.match(r.err, /^- worker-2 is unreachable: ECONNREFUSED/m);
      assert.match(r.err, /^error: kubelab up would stop: 3 problems found$/m);
      assert.doesNotMatch(r.err + r.out, /would create|Create machines|stopped/);
      assert.equal(r.out, "");
    }
  });

  it("--detailed-exitcode without --dry-run is a usage error (exit 2)", async (t) => {
    const refused = await closedPort();
    const file = await sshLabFile(t, [refused, refused, refused]);
    const r = await kubelab("up", "-f", file, "--detailed-exitcode");
    assert.equal(r.code, 2);
    assert.match(r.err, /^error: --detailed-exitcode needs --dry-run$/m);
  });

  it("with --detailed-exitcode a bad cluster file exits 1, since 2 means changes", async (t) => {
    const file = join(await tempDir(t), "kubelab.yaml");
    await writeFile(file, `${DEFAULT_CLUSTER_YAML}\nunknownField: 1\n`);
    const plain = await kubelab("up", "-f", file, "--dry-run");
    assert.equal(plain.code, 2, plain.err);
    const detailed = await kubelab("up", "-f", file, "--dry-run", "--detailed-exitcode");
    assert.equal(detailed.code, 1, detailed.err);
    assert.equal(detailed.err, plain.err);
  });
});
