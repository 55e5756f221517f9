// The control-plane VIP phase against fake nodes: keepalived and HAProxy installed from the
// distribution where missing, their files written where they differ, the services (re)started
// where anything changed; nothing on workers, nothing without a VIP, nothing in a dry run.
import assert from "node:assert/strict";
import { test } from "node:test";
import { byNode, fakeCluster, type NodeState, preparedNode } from "../../test/helpers/fake-node.js";
import { REST } from "../../test/helpers/fake-remote.js";
import { planWith } from "../../test/helpers/fixtures.js";
import { UserError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import { HostsError } from "../remote/hosts.js";
import { HAPROXY_CFG_PATH, KEEPALIVED_CHECK_PATH, KEEPALIVED_CONF_PATH, renderHaFiles } from "../render/ha.js";
import { controlPlaneVipPhase } from "./control-plane-vip.js";

const plan = planWith((raw) => {
  raw.nodes[0].count = 3;
  raw.controlPlane = { endpoint: { vip: "192.168.56.10" } };
});
const CPS = ["master-1", "master-2", "master-3"];
const APT_INSTALL = [
  "env",
  "DEBIAN_FRONTEND=noninteractive",
  "apt-get",
  "install",
  "-y",
  "--no-install-recommends",
  "keepalived",
  "haproxy",
];

/** A control plane this phase has already been through: packages, files on eth1, services running. */
function vipReady(p: Plan, name: string): NodeState {
  const base = preparedNode(p, name);
  return {
    ...base,
    packages: { ...base.packages, keepalived: "1:2.2.7-1+b2", haproxy: "2.6.12-1+deb12u2" },
    units: { ...base.units, keepalived: "active", haproxy: "active" },
    files: {
      ...base.files,
      ...Object.fromEntries(renderHaFiles(p, name, "eth1").map((f) => [f.path, f.content])),
    },
  };
}

const allReady = (p: Plan) => Object.fromEntries(CPS.map((n) => [n, vipReady(p, n)]));

test("control planes that run the VIP as planned get nothing; workers are never touched", async () => {
  const c = await fakeCluster(plan, allReady(plan));
  assert.equal(controlPlaneVipPhase.shouldRun?.(c.ctx), true);
  await controlPlaneVipPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, []);
  assert.deepEqual(c.touched(), []);
});

test("a control plane without the packages gets them, its files on its lab interface, then both started", async () => {
  const bare = preparedNode(plan, "master-2");
  const c = await fakeCluster(plan, { ...allReady(plan), "master-2": bare });
  const m2 = c.node("master-2").on(APT_INSTALL).on(["systemctl", REST]);
  await controlPlaneVipPhase.run(c.ctx);
  assert.deepEqual(byNode(c.ctx.changes), {
    "master-2": [
      "install keepalived haproxy (distribution packages)",
      `write ${KEEPALIVED_CONF_PATH}`,
      `write ${KEEPALIVED_CHECK_PATH}`,
      `write ${HAPROXY_CFG_PATH}`,
      "start keepalived",
      "start haproxy",
    ],
  });
  assert.deepEqual(
    m2.commands().map((a) => a.join(" ")),
    [
      APT_INSTALL.join(" "),
      "systemctl enable keepalived",
      "systemctl restart keepalived",
      "systemctl enable haproxy",
      "systemctl restart haproxy",
    ],
  );
  assert.match(m2.files.get(KEEPALIVED_CONF_PATH) ?? "", /interface eth1\n[\s\S]*priority 149\n/);
  assert.match(m2.files.get(HAPROXY_CFG_PATH) ?? "", /bind \*:8443/);
  assert.ok(m2.calls.some((x) => x.kind === "writeFile" && x.path === KEEPALIVED_CHECK_PATH && x.mode === 0o755));
  assert.deepEqual(c.touched(), ["master-2"]);
});

test("old package lists: apt is refreshed once, then the install runs again", async () => {
  const c = await fakeCluster(plan, { ...allReady(plan), "master-3": preparedNode(plan, "master-3") });
  let tries = 0;
  const m3 = c
    .node("master-3")
    .on(APT_INSTALL, () => (tries++ === 0 ? { code: 100, stderr: "E: Unable to locate package keepalived\n" } : {}));
  m3.on(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update"]).on(["systemctl", REST]);
  await controlPlaneVipPhase.run(c.ctx);
  assert.deepEqual(
    m3
      .commands()
      .slice(0, 3)
      .map((a) => a.at(-1)),
    ["haproxy", "update", "haproxy"],
  );
});

test("a changed HAProxy file restarts HAProxy alone; a stopped keepalived is started", async () => {
  const ready = vipReady(plan, "master-1");
  const drifted: NodeState = {
    ...ready,
    units: { ...ready.units, keepalived: "failed" },
    files: { ...ready.files, [HAPROXY_CFG_PATH]: "global\n" },
  };
  const c = await fakeCluster(plan, { ...allReady(plan), "master-1": drifted });
  c.node("master-1").on(["systemctl", REST]);
  await controlPlaneVipPhase.run(c.ctx);
  assert.deepEqual(byNode(c.ctx.changes), {
    "master-1": [`update ${HAPROXY_CFG_PATH}`, "start keepalived", "restart haproxy"],
  });
});

test("a dry run records the same changes and runs and writes nothing", async () => {
  const c = await fakeCluster(
    plan,
    { ...allReady(plan), "master-2": preparedNode(plan, "master-2") },
    { dryRun: true },
  );
  await controlPlaneVipPhase.run(c.ctx);
  assert.equal(c.ctx.changes.length, 6);
  assert.deepEqual(c.touched(), []);
});

test("a control plane with no interface holding its lab address is a user error naming it", async () => {
  const lost: NodeState = {
    ...vipReady(plan, "master-3"),
    addresses: [{ iface: "eth0", address: "10.0.2.15", prefix: 24 }],
  };
  const c = await fakeCluster(plan, { ...allReady(plan), "master-3": lost });
  await assert.rejects(controlPlaneVipPhase.run(c.ctx), (e: Error) => {
    assert.match(e.message, /master-3: no interface has the node's lab address 192\.168\.56\.13/);
    // Named per host, and what the user can fix stays a UserError underneath.
    assert.ok(e instanceof HostsError);
    assert.ok(e.failures[0]?.error instanceof UserError);
    return true;
  });
});

test("without a VIP the phase does not run", async () => {
  const c = await fakeCluster(planWith());
  assert.equal(controlPlaneVipPhase.shouldRun?.(c.ctx), false);
});
