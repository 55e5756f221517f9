// Validate hosts against fake nodes' facts: supported nodes pass untouched; every problem of
// every node is reported at once, before anything changes, naming the node.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fakeCluster, type NodeState, preparedNode } from "../../test/helpers/fake-node.js";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import { UserError } from "../errors.js";
import { validateHostsPhase } from "./validate-hosts.js";

const plan = defaultPlan();

const UBUNTU_20_04 = 'PRETTY_NAME="Ubuntu 20.04.6 LTS"\nNAME="Ubuntu"\nVERSION_ID="20.04"\nID=ubuntu\nID_LIKE=debian\n';
const UBUNTU_24_04 = 'PRETTY_NAME="Ubuntu 24.04.3 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\n';

const node = (name: string, over: Partial<NodeState>) => preparedNode(plan, name, over);

test("supported nodes with clocks in step pass, touched by nothing", async () => {
  for (const dryRun of [false, true]) {
    const c = await fakeCluster(
      plan,
      { "worker-1": node("worker-1", { osRelease: UBUNTU_24_04, arch: "arm64", clockSkewSeconds: -30 }) },
      { dryRun },
    );
    await validateHostsPhase.run(c.ctx);
    assert.deepEqual(c.ctx.changes, []);
    assert.deepEqual(c.touched(), []);
  }
});

test("every problem of every node is reported at once, naming the node, in a dry run too", async () => {
  for (const dryRun of [false, true]) {
    const c = await fakeCluster(
      plan,
      {
        "master-1": node("master-1", { osRelease: UBUNTU_20_04 }),
        "worker-2": node("worker-2", { arch: "armhf", clockSkewSeconds: 31 }),
      },
      { dryRun },
    );
    await assert.rejects(validateHostsPhase.run(c.ctx), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.message, "3 host problem(s)");
      assert.equal(e.exitCode, 1);
      assert.equal(
        e.details,
        [
          "master-1: Ubuntu 20.04.6 LTS is not supported (kubelab prepares debian 12/13, ubuntu 22.04/24.04)",
          "worker-2: architecture armhf is not supported (amd64, arm64)",
          "worker-2: clock is 31 s off this host's (at most 30 s); enable NTP",
        ].join("\n"),
      );
      return true;
    });
    assert.deepEqual(c.ctx.changes, []);
    assert.deepEqual(c.touched(), []);
  }
});
