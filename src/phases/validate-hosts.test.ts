// Validate hosts against fake nodes' facts: supported nodes pass untouched; every problem of
// every node is reported at once, before anything changes, naming the node. That includes a
// kernel that cannot make the tunnels of the chosen Calico encapsulation.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fakeCluster, type NodeState, preparedNode } from "../../test/helpers/fake-node.js";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import { UserError } from "../errors.js";
import type { CalicoEncapsulation, Plan } from "../plan/types.js";
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

/** The default plan with another Calico encapsulation. */
function planWith(encapsulation: CalicoEncapsulation): Plan {
  assert.equal(plan.addons.cni.plugin, "calico");
  return { ...plan, addons: { ...plan.addons, cni: { ...plan.addons.cni, encapsulation } } };
}

/** A kernel built without IPIP but with VXLAN (its probe's output is recorded in facts.test.ts). */
const NO_IPIP = { ipip: false, vxlan: true };

test("nodes whose kernel cannot make the encapsulation's tunnel stop the run, each named, with the setting to use", async () => {
  const cases: [CalicoEncapsulation, string, string][] = [
    ["ipip", "ipip", "vxlan"],
    ["vxlan", "vxlan", "ipip"],
    ["vxlan-cross-subnet", "vxlan", "ipip"],
  ];
  for (const [encapsulation, tunnel, instead] of cases) {
    const p = planWith(encapsulation);
    const without = { ipip: true, vxlan: true, [tunnel]: false };
    for (const dryRun of [false, true]) {
      const c = await fakeCluster(
        p,
        {
          "worker-1": preparedNode(p, "worker-1", { tunnels: without }),
          "worker-2": preparedNode(p, "worker-2", { tunnels: without }),
        },
        { dryRun },
      );
      await assert.rejects(validateHostsPhase.run(c.ctx), (e: Error) => {
        assert.ok(e instanceof UserError);
        assert.equal(e.message, "2 host problem(s)");
        const line = `cannot do ${encapsulation} (its kernel has no ${tunnel} support); set addons.cni.encapsulation: ${instead}`;
        assert.equal(e.details, [`worker-1: ${line}`, `worker-2: ${line}`].join("\n"));
        return true;
      });
      assert.deepEqual(c.ctx.changes, []);
      assert.deepEqual(c.touched(), []);
    }
  }
});

test("a kernel with neither tunnel is pointed at plain routes", async () => {
  const c = await fakeCluster(plan, { "master-1": node("master-1", { tunnels: { ipip: false, vxlan: false } }) });
  await assert.rejects(validateHostsPhase.run(c.ctx), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.equal(
      e.details,
      "master-1: cannot do ipip (its kernel has no ipip support); set addons.cni.encapsulation: none (with every node on one L2 network)",
    );
    return true;
  });
});

test("the tunnel only matters for the encapsulation chosen, and only with Calico", async () => {
  const passing: [Plan, NodeState["tunnels"]][] = [
    [planWith("vxlan"), NO_IPIP],
    [planWith("vxlan-cross-subnet"), NO_IPIP],
    [planWith("none"), { ipip: false, vxlan: false }],
    [planWith("ipip"), { ipip: true, vxlan: false }],
    [
      { ...plan, addons: { ...plan.addons, cni: { plugin: "none" } } },
      { ipip: false, vxlan: false },
    ],
  ];
  for (const [p, tunnels] of passing) {
    const c = await fakeCluster(p, { "worker-1": preparedNode(p, "worker-1", { tunnels }) });
    await validateHostsPhase.run(c.ctx);
    assert.deepEqual(c.ctx.changes, []);
    assert.deepEqual(c.lines, []);
  }
});

test("a node the probe could not answer for goes on, with a line saying so", async () => {
  const c = await fakeCluster(plan, { "worker-2": node("worker-2", { tunnels: {} }) });
  await validateHostsPhase.run(c.ctx);
  assert.deepEqual(c.lines, [
    "worker-2: could not probe its kernel for ipip support (no unshare or ip, or no right to make a network namespace); going on",
  ]);
  assert.deepEqual(c.ctx.changes, []);
});
