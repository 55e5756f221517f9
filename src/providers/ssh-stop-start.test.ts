// The ssh provider's stop and start on fake hosts: the hosts stay up, kubelet, the pods and
// containerd stop in that order, and start brings containerd and kubelet back.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeRemote, REST } from "../../test/helpers/fake-remote.js";
import { planWith } from "../../test/helpers/fixtures.js";
import { createSshProvider, SSH_START_COMMAND, SSH_STOP_COMMANDS } from "./ssh.js";

const plan = planWith((raw) => {
  raw.provider = {
    name: "ssh",
    hosts: [
      { node: "master-1", address: "192.168.56.11" },
      { node: "worker-1", address: "192.168.56.12" },
      { node: "worker-2", address: "192.168.56.13" },
    ],
  };
});

function hosts() {
  const remotes = new Map(
    plan.nodes.map((n) => [n.name, new FakeRemote(n.name).on(["systemctl", REST]).on(["sh", "-c", REST])]),
  );
  const connected: string[][] = [];
  const provider = createSshProvider(async (p) => {
    connected.push(p.nodes.map((n) => n.name));
    return new Map(p.nodes.map((n) => [n.name, remotes.get(n.name) as FakeRemote]));
  });
  return { remotes, connected, provider };
}

test("stop: kubelet, then every pod sandbox, then containerd, on the named hosts only; the log says the hosts stay", async () => {
  const { remotes, connected, provider } = hosts();
  const lines: string[] = [];
  await provider.stop(plan, ["worker-1", "worker-2"], { clusterDir: "/nonexistent", log: (l) => lines.push(l) });
  assert.deepEqual(connected, [["worker-1", "worker-2"]]);
  const worker = remotes.get("worker-1") as FakeRemote;
  assert.deepEqual(worker.commands(), SSH_STOP_COMMANDS);
  assert.deepEqual(worker.commands()[0], ["systemctl", "stop", "kubelet"]);
  assert.match(worker.commands()[1]?.[2] ?? "", /crictl stopp/);
  assert.deepEqual(worker.commands()[2], ["systemctl", "stop", "containerd"]);
  assert.equal((remotes.get("master-1") as FakeRemote).commands().length, 0);
  assert.ok(worker.closed, "connections are closed");
  assert.ok(
    lines.some((l) => /^worker-1: .*the host itself stays up$/.test(l)),
    lines.join("\n"),
  );
});

test("start: systemctl start containerd kubelet", async () => {
  const { remotes, provider } = hosts();
  await provider.start(plan, ["master-1"], { clusterDir: "/nonexistent", log: () => {} });
  assert.deepEqual(SSH_START_COMMAND, ["systemctl", "start", "containerd", "kubelet"]);
  assert.deepEqual((remotes.get("master-1") as FakeRemote).commands(), [SSH_START_COMMAND]);
});
