// `kubelab render` with the pinned upstream manifests (the dev cache): the files it writes for
// each node and the cluster, and a tampered upstream file refused by its sha256.
import assert from "node:assert/strict";
import { cp, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { kubelab } from "../../test/helpers/cli.js";
import { fixturesDir } from "../../test/helpers/fixtures.js";
import { withDir } from "../../test/helpers/tmp.js";

describe("kubelab CLI", () => {
  it("render writes each node's files and the cluster objects, secrets 0600", async () => {
    await withDir(async (dir) => {
      const out = join(dir, "out");
      const r = await kubelab("render", "--out", out, "--upstream", fixturesDir());
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /wrote \d+ files for 3 nodes/);
      const toml = await readFile(join(out, "worker-2/etc/containerd/config.toml"), "utf8");
      assert.match(toml, /SystemdCgroup = true/);
      assert.match(await readFile(join(out, "worker-2/etc/default/kubelet"), "utf8"), /--node-ip=192\.168\.56\.13/);
      assert.match(
        await readFile(join(out, "master-1/etc/kubernetes/kubeadm/kubeadm-init.yaml"), "utf8"),
        /advertiseAddress: 192\.168\.56\.11/,
      );
      assert.match(await readFile(join(out, "cluster/calico.yaml"), "utf8"), /FELIX_HEALTHHOST/);
      assert.match(await readFile(join(out, "cluster/kubelab-objects.yaml"), "utf8"), /kind: IPAddressPool/);
      const values = join(out, "cluster/linkerd-identity-values.yaml");
      assert.match(await readFile(values, "utf8"), /BEGIN EC PRIVATE KEY/);
      assert.equal((await stat(values)).mode & 0o777, 0o600);
    });
  });

  it("render without upstream files says what it left out; a tampered file is refused", async () => {
    await withDir(async (dir) => {
      const plain = await kubelab("render", "--out", join(dir, "a"));
      assert.equal(plain.code, 0, plain.err);
      assert.match(plain.err, /not transformed .*\n.*calico\.yaml/);
      const upstream = join(dir, "upstream");
      await cp(join(fixturesDir(), "calico"), join(upstream, "calico"), { recursive: true });
      await writeFile(join(upstream, "calico/v3.32.1/manifests/calico.yaml"), "# tampered\n", { flag: "a" });
      const r = await kubelab("render", "--out", join(dir, "b"), "--upstream", upstream);
      assert.equal(r.code, 2);
      assert.match(r.err, /sha256 mismatch/);
      assert.match(r.err, /expected a1df919d/);
    });
  });
});
