// Which version changes kubeadm allows in place, and the order nodes are upgraded in.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { planWith } from "../../test/helpers/fixtures.js";
import { KUBERNETES_VERSIONS } from "../versions.js";
import { describeUpgradeOrder, parseVersion, release, upgradeOrder, upgradePath } from "./upgrade-path.js";

describe("upgradePath: the changes kubeadm allows", () => {
  test("the same release, a newer patch and the next minor are allowed", () => {
    assert.equal(upgradePath("v1.37.2", "v1.37.2"), undefined);
    assert.equal(upgradePath("v1.37.0", "v1.37.2"), undefined);
    assert.equal(upgradePath("v1.36.3", "v1.37.2"), undefined);
    assert.equal(upgradePath("1.36.3-1.1", "v1.37.2"), undefined);
  });

  test("a skipped minor is refused with the minor to upgrade to first", () => {
    const r = upgradePath("v1.35.4", "v1.37.2");
    assert.ok(r);
    assert.match(r.message, /^1\.35 -> 1\.37: upgrade to 1\.36 first/);
    // 1.36 is pinned: the fix names its release and the two runs of up.
    assert.match(r.fix, /kubernetes\.version: v1\.36\.3 and run kubelab up, then set v1\.37\.2/);
  });

  test("a skipped minor that kubelab does not pin says so", () => {
    const r = upgradePath("v1.34.1", "v1.36.3");
    assert.ok(r);
    assert.match(r.message, /^1\.34 -> 1\.36: upgrade to 1\.35 first/);
    assert.match(r.fix, /kubelab pins no 1\.35 release/);
  });

  test("a downgrade is refused, a patch one too", () => {
    const minor = upgradePath("v1.37.2", "v1.36.3");
    assert.ok(minor);
    assert.match(minor.message, /v1\.37\.2 -> v1\.36\.3 is a downgrade/);
    assert.match(minor.fix, /kubelab down, then kubelab up/);
    assert.ok(upgradePath("v1.37.3", "v1.37.2"));
  });

  test("versions and package versions parse; anything else does not", () => {
    assert.deepEqual(parseVersion("v1.37.2"), { major: 1, minor: 37, patch: 2 });
    assert.deepEqual(parseVersion("1.36.3-1.1"), { major: 1, minor: 36, patch: 3 });
    assert.equal(parseVersion("1.37"), undefined);
    assert.equal(release("1.36.3-1.1"), "v1.36.3");
    assert.equal(release(undefined), undefined);
  });

  test("each pinned release is one minor after the one before (an upgrade path through them exists)", () => {
    for (let i = 1; i < KUBERNETES_VERSIONS.length; i++)
      assert.equal(upgradePath(KUBERNETES_VERSIONS[i - 1] as string, KUBERNETES_VERSIONS[i] as string), undefined);
  });
});

const names = (batches: readonly (readonly { name: string }[])[]) => batches.map((b) => b.map((n) => n.name));

describe("upgradeOrder", () => {
  const plan = planWith((raw) => {
    raw.kubernetes.controlPlaneEndpoint = "192.168.56.10:6443";
    raw.nodes[0].count = 3;
    raw.nodes[1].count = 5;
  });

  test("first control plane, the others, then kubelets: control planes alone, workers one at a time", () => {
    const o = upgradeOrder(plan);
    assert.equal(o.first.name, "master-1");
    assert.deepEqual(
      o.controlPlanes.map((n) => n.name),
      ["master-2", "master-3"],
    );
    assert.deepEqual(names(o.kubelets), [
      ["master-1"],
      ["master-2"],
      ["master-3"],
      ["worker-1"],
      ["worker-2"],
      ["worker-3"],
      ["worker-4"],
      ["worker-5"],
    ]);
  });

  test("--max-unavailable batches workers only; control planes stay one at a time", () => {
    assert.deepEqual(names(upgradeOrder(plan, 2).kubelets), [
      ["master-1"],
      ["master-2"],
      ["master-3"],
      ["worker-1", "worker-2"],
      ["worker-3", "worker-4"],
      ["worker-5"],
    ]);
    assert.deepEqual(names(upgradeOrder(plan, 10).kubelets).slice(3), [
      ["worker-1", "worker-2", "worker-3", "worker-4", "worker-5"],
    ]);
    assert.deepEqual(names(upgradeOrder(plan, 0).kubelets).slice(3, 4), [["worker-1"]]);
  });

  test("describeUpgradeOrder says each step in order (what kubelab plan prints)", () => {
    const lines = describeUpgradeOrder(planWith());
    assert.deepEqual(lines, [
      "master-1: kubeadm package, kubeadm upgrade plan, kubeadm upgrade apply v1.37.2",
      "master-1: drain, kubelet and kubectl packages, restart kubelet, wait Ready, uncordon",
      "worker-1: kubeadm package, kubeadm upgrade node, drain, kubelet and kubectl packages, restart kubelet, wait Ready, uncordon",
      "worker-2: kubeadm package, kubeadm upgrade node, drain, kubelet and kubectl packages, restart kubelet, wait Ready, uncordon",
    ]);
  });

  test("a one-node cluster is not drained", () => {
    const one = planWith((raw) => {
      raw.nodes = [raw.nodes[0]];
    });
    assert.deepEqual(describeUpgradeOrder(one).slice(1), [
      "master-1: kubelet and kubectl packages, restart kubelet, wait Ready (one node: not drained)",
    ]);
  });
});
