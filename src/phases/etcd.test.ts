import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeRemote } from "../../test/helpers/fake-remote.js";
import { etcdctlArgv, memberListOn, membersOf, parseHealth, parseMemberList, quorum } from "./etcd.js";

test("member list: started, unstarted learner, several peer addresses", () => {
  const out = [
    "8e9e05c52164694d, started, cp-1, https://192.168.56.11:2380, https://192.168.56.11:2379, false",
    "91bc3c398fb3c146, unstarted, , https://192.168.56.12:2380, , true",
    "fd422379fda50e48, started, cp-3, https://192.168.56.13:2380,https://10.0.0.13:2380, https://192.168.56.13:2379, false",
    "",
  ].join("\n");
  const members = parseMemberList(out);
  assert.equal(members.length, 3);
  assert.deepEqual(members[0], {
    id: "8e9e05c52164694d",
    name: "cp-1",
    started: true,
    peerURLs: ["https://192.168.56.11:2380"],
    clientURLs: ["https://192.168.56.11:2379"],
    isLearner: false,
  });
  assert.deepEqual(members[1], {
    id: "91bc3c398fb3c146",
    name: "",
    started: false,
    peerURLs: ["https://192.168.56.12:2380"],
    clientURLs: [],
    isLearner: true,
  });
  assert.deepEqual(members[2]?.peerURLs, ["https://192.168.56.13:2380", "https://10.0.0.13:2380"]);
  // A node's members: by name, or by peer address for one that never started.
  assert.deepEqual(
    membersOf(members, { name: "cp-2", ip: "192.168.56.12" }).map((m) => m.id),
    ["91bc3c398fb3c146"],
  );
  assert.deepEqual(
    membersOf(members, { name: "cp-1", ip: "192.168.56.99" }).map((m) => m.id),
    ["8e9e05c52164694d"],
  );
  assert.throws(() => parseMemberList("garbage"), /unexpected etcdctl member list line/);
});

test("endpoint health and quorum", () => {
  const health = parseHealth(
    '[{"endpoint":"https://192.168.56.11:2379","health":true,"took":"9.1ms"},{"endpoint":"https://192.168.56.12:2379","health":false,"took":"5s","error":"context deadline exceeded"}]',
  );
  assert.deepEqual(health, [
    { endpoint: "https://192.168.56.11:2379", health: true },
    { endpoint: "https://192.168.56.12:2379", health: false, error: "context deadline exceeded" },
  ]);
  assert.equal(quorum(1), 1);
  assert.equal(quorum(2), 2);
  assert.equal(quorum(3), 2);
  assert.equal(quorum(5), 3);
});

test("member list: a control plane whose etcd does not run yet is passed over for one whose does", async () => {
  const list = etcdctlArgv(["member", "list", "-w", "simple"]);
  const booting = new FakeRemote("master-1").on(list, { code: 3, stderr: "no running etcd container on this node\n" });
  const running = new FakeRemote("master-2").on(list, {
    stdout: "8e9e05c52164694d, started, master-2, https://10.0.0.12:2380, https://10.0.0.12:2379, false\n",
  });
  const members = await memberListOn([booting, running], { waitMs: 0 });
  assert.deepEqual(
    members.map((m) => m.name),
    ["master-2"],
  );
  await assert.rejects(memberListOn([booting], { waitMs: 0 }), /no running etcd container/);
});
