// The vagrant provider's stop and start with a stand-in vagrant on PATH that records its
// argv: halt for the running VMs only, up (no provisioning) for the stopped ones only.
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { test } from "node:test";
import { defaultPlan } from "../../../test/helpers/fixtures.js";
import { fakeVagrant } from "../../../test/helpers/vagrant-provider.js";
import { UserError } from "../../errors.js";

// `status` prints the states in $FAKE_STATES (node=state,...); `ssh-config` a block per machine.
const FAKE_VAGRANT = `#!/bin/sh
echo "$*" >> "$FAKE_LOG"
case "$1" in
  status)
    for kv in $(echo "$FAKE_STATES" | tr , ' '); do echo "1700000000,\${kv%%=*},state,\${kv#*=}"; done ;;
  ssh-config)
    shift
    for m in "$@"; do printf 'Host %s\\n  HostName 127.0.0.1\\n  User vagrant\\n  Port 2222\\n  IdentityFile /k\\n\\n' "$m"; done ;;
esac
exit 0
`;

const fake = (t: TestContext, states: string) =>
  fakeVagrant(t, FAKE_VAGRANT, { FAKE_STATES: states }, (l) => l.startsWith("status") || l.startsWith("ssh-config"));

test("stop: vagrant halt for the running VMs among those named", async (t) => {
  const f = await fake(t, "master-1=running,worker-1=running,worker-2=poweroff");
  await f.provider.stop(defaultPlan(), ["worker-1", "worker-2"], f.ctx);
  assert.deepEqual(await f.argv(), ["halt --no-color worker-1"]);
});

test("start: vagrant up without provisioning for the stopped VMs among those named", async (t) => {
  const f = await fake(t, "master-1=poweroff,worker-1=running,worker-2=poweroff");
  await f.provider.start(defaultPlan(), ["master-1"], f.ctx);
  await f.provider.start(defaultPlan(), ["worker-1", "worker-2"], f.ctx);
  const hv = (defaultPlan().provider as { hypervisor: string }).hypervisor;
  const parallel = hv === "libvirt" ? "--parallel" : "--no-parallel";
  assert.deepEqual(await f.argv(), [
    `up --provider ${hv} --no-provision ${parallel} --no-color master-1`,
    `up --provider ${hv} --no-provision ${parallel} --no-color worker-2`,
  ]);
});

test("start refuses a VM that was never made: that is kubelab up's", async (t) => {
  const f = await fake(t, "master-1=not_created,worker-1=running,worker-2=running");
  await assert.rejects(f.provider.start(defaultPlan(), ["master-1"], f.ctx), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /master-1 of cluster lab has no VM to start/);
    return true;
  });
  assert.deepEqual(await f.argv(), []);
});
