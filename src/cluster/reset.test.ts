// down on existing hosts with a control-plane VIP: each control plane stops keepalived and
// HAProxy and loses kubelab's configuration of them; workers and plans without a VIP get nothing.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeRemote, REST } from "../../test/helpers/fake-remote.js";
import { planWith } from "../../test/helpers/fixtures.js";
import { HAPROXY_CFG_PATH, KEEPALIVED_CHECK_PATH, KEEPALIVED_CONF_PATH } from "../render/ha.js";
import { releaseVip } from "./reset.js";

const plan = planWith((raw) => {
  raw.nodes[0].count = 3;
  raw.controlPlane = { endpoint: { vip: "192.168.56.10" } };
});

test("a control plane gives the VIP up: keepalived and HAProxy stopped, their files removed", async () => {
  const files = { [KEEPALIVED_CONF_PATH]: "x", [KEEPALIVED_CHECK_PATH]: "x", [HAPROXY_CFG_PATH]: "x" };
  const node = new FakeRemote("master-2", files).on(["systemctl", REST]).on(["rm", "-f", REST]);
  const lines: string[] = [];
  await releaseVip(plan, "master-2", node, (l) => lines.push(l));
  assert.deepEqual(
    node.commands().map((a) => a.join(" ")),
    [
      `test -e ${KEEPALIVED_CONF_PATH}`,
      "systemctl disable --now keepalived haproxy",
      `rm -f ${KEEPALIVED_CONF_PATH} ${KEEPALIVED_CHECK_PATH} ${HAPROXY_CFG_PATH}`,
    ],
  );
  assert.deepEqual(lines, ["master-2: stop keepalived and HAProxy, remove their configuration"]);
});

test("a control plane without kubelab's keepalived.conf (a second down) gets nothing more", async () => {
  const node = new FakeRemote("master-2", {});
  const lines: string[] = [];
  await releaseVip(plan, "master-2", node, (l) => lines.push(l));
  assert.deepEqual(
    node.commands().map((a) => a.join(" ")),
    [`test -e ${KEEPALIVED_CONF_PATH}`],
  );
  assert.deepEqual(lines, []);
});

test("a worker, or a plan without a VIP, is left alone", async () => {
  const worker = new FakeRemote("worker-1", {});
  await releaseVip(plan, "worker-1", worker, () => {});
  const cp = new FakeRemote("master-1", {});
  await releaseVip(planWith(), "master-1", cp, () => {});
  assert.deepEqual([...worker.calls, ...cp.calls], []);
});
