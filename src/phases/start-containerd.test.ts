// Start containerd against fake nodes: (re)started only where it is not running or an earlier
// phase changed it, then checked with containerd's own view of its config.
import assert from "node:assert/strict";
import { test } from "node:test";
import { byNode, fakeCluster, preparedNode } from "../../test/helpers/fake-node.js";
import { defaultPlan, planWith } from "../../test/helpers/fixtures.js";
import { HostsError } from "../remote/hosts.js";
import { needsRestart } from "./phase.js";
import { startContainerdPhase } from "./start-containerd.js";

const plan = defaultPlan();
const DUMP = ["containerd", "config", "dump"];
const RESTART = ["systemctl", "restart", "containerd"];
/** worker-1's containerd was changed by an earlier phase; worker-2's is not running. */
const CHANGES = { "worker-1": ["restart containerd"], "worker-2": ["start containerd"] };
/** `containerd config dump` cut down to the runc options the phase reads (config version 3, as 2.x prints). */
const dump = (systemd: boolean) =>
  `version = 3\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]\n  BinaryName = ""\n  SystemdCgroup = ${systemd}\n`;

async function cluster(dryRun = false, p = plan) {
  const c = await fakeCluster(
    p,
    { "worker-2": preparedNode(p, "worker-2", { units: { containerd: "inactive" } }) },
    { dryRun },
  );
  for (const n of c.nodes.values()) n.on(DUMP, { stdout: dump(p.containerd.cgroupDriver === "systemd") }).on(RESTART);
  needsRestart(c.ctx, "worker-1", "containerd");
  return c;
}

test("running containerd with nothing changed is only checked, not restarted", async () => {
  const c = await fakeCluster(plan);
  for (const n of c.nodes.values()) n.on(DUMP, { stdout: dump(true) });
  await startContainerdPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, []);
  for (const n of c.nodes.values()) assert.deepEqual(n.commands(), [DUMP], n.node);
});

test("containerd is restarted where it changed, started where it is not running", async () => {
  const c = await cluster();
  await startContainerdPhase.run(c.ctx);
  assert.deepEqual(byNode(c.ctx.changes), CHANGES);
  assert.deepEqual(c.node("master-1").commands(), [DUMP]);
  assert.deepEqual(c.node("worker-1").commands(), [RESTART, DUMP]);
  assert.deepEqual(c.node("worker-2").commands(), [RESTART, DUMP]);
});

test("a dry run records the same changes and runs nothing, not even the check", async () => {
  const c = await cluster(true);
  await startContainerdPhase.run(c.ctx);
  assert.deepEqual(byNode(c.ctx.changes), CHANGES);
  assert.deepEqual(c.touched(), []);
});

test("containerd not using the plan's cgroup driver fails the step, naming the node and the setting", async () => {
  const c = await cluster();
  c.node("worker-1").on(DUMP, { stdout: dump(false) });
  await assert.rejects(startContainerdPhase.run(c.ctx), (e: Error) => {
    assert.ok(e instanceof HostsError);
    assert.equal(
      e.message,
      "failed on 1 of 3 hosts:\n - worker-1: `containerd config dump` exited 0:\n" +
        "     containerd does not report SystemdCgroup = true; its config is not the one kubelab wrote\n",
    );
    return true;
  });
  // The cgroupfs driver wants the opposite.
  const cgroupfs = planWith((raw) => {
    raw.containerd.cgroupDriver = "cgroupfs";
  });
  await startContainerdPhase.run((await cluster(false, cgroupfs)).ctx);
});
