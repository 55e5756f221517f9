// The vagrant provider's snapshots with a stand-in vagrant on PATH that records its argv:
// each VM's own `vagrant snapshot save|restore|delete`, restore without starting the VM.
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { test } from "node:test";
import { defaultPlan } from "../../../test/helpers/fixtures.js";
import { fakeVagrant } from "../../../test/helpers/vagrant-provider.js";
import { UserError } from "../../errors.js";
import { parseSnapshotList } from "./provider.js";

// `snapshot list VM` prints the names in $FAKE_SNAPSHOTS (vm=name,...), or vagrant's note when none.
const FAKE_VAGRANT = `#!/bin/sh
echo "$*" >> "$FAKE_LOG"
if [ "$1 $2" = "snapshot list" ]; then
  for a in "$@"; do vm="$a"; done
  found=
  for kv in $(echo "$FAKE_SNAPSHOTS" | tr , ' '); do
    if [ "\${kv%%=*}" = "$vm" ]; then echo "\${kv#*=}"; found=1; fi
  done
  [ -n "$found" ] || printf '%s\n' "==> $vm: No snapshots have been taken yet!" \
    "    $vm: You can take a snapshot using \\\`vagrant snapshot save\\\`. Note that" \
    "    $vm: not all providers support this yet. Once a snapshot is taken, you"
fi
exit 0
`;

async function fake(t: TestContext, snapshots: string) {
  const f = await fakeVagrant(t, FAKE_VAGRANT, { FAKE_SNAPSHOTS: snapshots }, (l) => l.startsWith("snapshot list"));
  return { ...f, snapshots: f.provider.snapshot };
}

const nodes = ["master-1", "worker-1"];

test("save: vagrant snapshot save for each VM, replacing one of that name", async (t) => {
  const f = await fake(t, "");
  const disks = await f.snapshots?.save(defaultPlan(), "s1", nodes, f.ctx);
  assert.deepEqual(await f.argv(), [
    "snapshot save --force --no-color master-1 s1",
    "snapshot save --force --no-color worker-1 s1",
  ]);
  assert.deepEqual(
    disks?.map((d) => d.node),
    nodes,
  );
});

test("restore: each VM's snapshot put back without starting it; list reads vagrant's names", async (t) => {
  const f = await fake(t, "master-1=s1,worker-1=s0,worker-1=s1");
  assert.deepEqual(await f.snapshots?.list(defaultPlan(), "worker-1", f.ctx), ["s0", "s1"]);
  await f.snapshots?.restore(defaultPlan(), "s1", nodes, f.ctx);
  assert.deepEqual(await f.argv(), [
    "snapshot restore --no-provision --no-start --no-color master-1 s1",
    "snapshot restore --no-provision --no-start --no-color worker-1 s1",
  ]);
});

test("restore refuses before any VM is touched when one has no such snapshot", async (t) => {
  const f = await fake(t, "master-1=s1");
  await assert.rejects(f.snapshots?.restore(defaultPlan(), "s1", nodes, f.ctx) ?? Promise.resolve(), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /worker-1 has no vagrant snapshot named s1/);
    return true;
  });
  assert.deepEqual(await f.argv(), []);
});

test("delete: only the VMs that have it", async (t) => {
  const f = await fake(t, "worker-1=s1");
  await f.snapshots?.delete(defaultPlan(), "s1", nodes, f.ctx);
  assert.deepEqual(await f.argv(), ["snapshot delete --no-color worker-1 s1"]);
});

test("vagrant snapshot list: names one a line; with none, vagrant's note and its advice are no names", () => {
  // As vagrant 2.3 (Debian 12) printed it for a libvirt VM without snapshots, then with one.
  const none = [
    "==> master-1: No snapshots have been taken yet!",
    "    master-1: You can take a snapshot using `vagrant snapshot save`. Note that",
    "    master-1: not all providers support this yet. Once a snapshot is taken, you",
    "    master-1: can list them using this command, and use commands such as",
    "    master-1: `vagrant snapshot restore` to go back to a certain snapshot.",
    "",
  ].join("\n");
  assert.deepEqual(parseSnapshotList(none), []);
  assert.deepEqual(parseSnapshotList("==> master-1: \ns1\nbefore-upgrade\n"), ["s1", "before-upgrade"]);
});
