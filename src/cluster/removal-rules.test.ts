// When removing nodes that left the file is refused: the last control plane, the first one, etcd's quorum.
import assert from "node:assert/strict";
import { test } from "node:test";
import { labPlan } from "../../test/helpers/fixtures.js";
import { UserError } from "../errors.js";
import type { EtcdHealth, EtcdMember } from "../phases/etcd.js";
import { appliedRecord, leftTheFile } from "../plan/applied-nodes.js";
import { refuseByPlan, refuseByQuorum, refuseMoved } from "./removal-rules.js";

const refusal = (fn: () => void): UserError => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof UserError, String(e));
    assert.equal(e.exitCode, 2);
    return e;
  }
  assert.fail("not refused");
};

/** The record of a cluster made from labPlan(cps, workers). */
const made = (cps: number, workers: number) => appliedRecord(labPlan(cps, workers), new Map(), []);

test("taking a worker and a second control plane out of the file is allowed", () => {
  const record = made(2, 2);
  const plan = labPlan(1, 1);
  assert.deepEqual(
    leftTheFile(plan, record).map((n) => n.name),
    ["worker-2", "master-2"],
  );
  refuseByPlan(plan, record, leftTheFile(plan, record));
});

test("the last control plane is never removed", () => {
  const record = made(1, 1);
  // The file's control plane is a new node: the cluster's only one would go.
  const plan = labPlan(1, 1);
  const renamed = { ...plan, nodes: plan.nodes.map((n) => (n.name === "master-1" ? { ...n, name: "cp-new" } : n)) };
  const e = refusal(() => refuseByPlan(renamed, record, leftTheFile(renamed, record)));
  assert.match(
    e.message,
    /^removing master-1 would take the last control plane of cluster lab \(the file's, cp-new, never joined it\)$/,
  );
  assert.match(e.hint ?? "", /keep at least one of master-1 in the cluster file/);
});

test("the first control plane of the file must stay the cluster's first", () => {
  const record = made(2, 1);
  // master-1 taken out: master-2 would become the node kubeadm init runs on.
  const plan = labPlan(2, 1);
  const without = { ...plan, nodes: plan.nodes.filter((n) => n.name !== "master-1") };
  const e = refusal(() => refuseByPlan(without, record, leftTheFile(without, record)));
  assert.match(e.message, /^the cluster's first control plane is master-1, but the file's is now master-2/);
  assert.match(e.hint ?? "", /keep master-1 in the file as its first control-plane node/);
  // Nothing leaving: nothing to refuse.
  refuseByPlan(plan, record, []);
});

const member = (name: string, ip: string, learner = false): EtcdMember => ({
  id: `id-${name}`,
  name,
  started: true,
  peerURLs: [`https://${ip}:2380`],
  clientURLs: [`https://${ip}:2379`],
  isLearner: learner,
});
const health = (ip: string, ok: boolean): EtcdHealth => ({ endpoint: `https://${ip}:2379`, health: ok });

test("etcd keeps a quorum of healthy voters at every step of the removal, or nothing is removed", () => {
  const record = made(3, 0);
  const [m1, m2, m3] = [
    member("master-1", "192.168.56.11"),
    member("master-2", "192.168.56.12"),
    member("master-3", "192.168.56.13"),
  ];
  const all = [m1, m2, m3];
  const leaving = (names: string[]) => record.filter((r) => names.includes(r.name));
  // Three healthy: one can go (2 of 2 left), two can go (1 of 1 left).
  const healthy = ["192.168.56.11", "192.168.56.12", "192.168.56.13"].map((ip) => health(ip, true));
  refuseByQuorum({ members: all, health: healthy }, leaving(["master-3"]));
  refuseByQuorum({ members: all, health: healthy }, leaving(["master-2", "master-3"]));
  // master-2 unhealthy: removing master-3 leaves 1 healthy of 2, below 2.
  const sick = [health("192.168.56.11", true), health("192.168.56.12", false), health("192.168.56.13", true)];
  const e = refusal(() => refuseByQuorum({ members: all, health: sick }, leaving(["master-3"])));
  assert.equal(
    e.message,
    "removing master-3 would leave 1 healthy of 2 voting etcd members, below its quorum of 2 (unhealthy: master-2)",
  );
  assert.match(e.hint ?? "", /nothing was removed/);
  // ...but removing the unhealthy one itself is fine: 2 healthy of 2.
  refuseByQuorum({ members: all, health: sick }, leaving(["master-2"]));
  // Two of three down: no quorum now, nothing can be removed.
  const down = [health("192.168.56.11", true)];
  const now = refusal(() => refuseByQuorum({ members: all, health: down }, leaving(["master-3"])));
  assert.match(now.message, /^etcd has 1 healthy of 3 voting etcd members now, below its quorum of 2/);
  // A learner does not vote: it neither counts toward nor against the quorum.
  refuseByQuorum(
    { members: [m1, m2, member("master-3", "192.168.56.13", true)], health: healthy },
    leaving(["master-3"]),
  );
});

test("a node that stays keeps its address: taking one out of a count would shift the next ones", () => {
  const record = made(2, 2);
  // master-2 taken out of the count: worker-1 would get .12, which was master-2's.
  const shifted = labPlan(1, 2);
  const e = refusal(() => refuseMoved(shifted, record));
  assert.match(
    e.message,
    /^the cluster file would move worker-1 from 192\.168\.56\.13 to 192\.168\.56\.12, worker-2 from 192\.168\.56\.14 to 192\.168\.56\.13/,
  );
  assert.match(e.hint ?? "", /ip: 192\.168\.56\.13 on worker-1/);
  refuseMoved(labPlan(2, 1), record);
});
