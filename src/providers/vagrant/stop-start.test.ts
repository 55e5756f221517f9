// The vagrant provider's stop and start with a stand-in vagrant on PATH that records its
// argv: halt for the running VMs only, up (no provisioning) for the stopped ones only.
import assert from "node:assert/strict";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { test } from "node:test";
import { defaultPlan } from "../../../test/helpers/fixtures.js";
import { noHostCheck, project } from "../../../test/helpers/vagrant-provider.js";
import { UserError } from "../../errors.js";
import { vagrantPaths } from "./cli.js";
import { createVagrantProvider } from "./provider.js";

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

async function fake(t: TestContext, states: string) {
  const p = await project(t);
  const bin = join(p.root, "bin");
  await mkdir(bin);
  await writeFile(join(bin, "vagrant"), FAKE_VAGRANT);
  await chmod(join(bin, "vagrant"), 0o755);
  await writeFile(vagrantPaths(p.dir).vagrantfile, "# the cluster's Vagrantfile\n");
  const log = join(p.root, "argv.log");
  await writeFile(log, "");
  const provider = createVagrantProvider({
    env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_LOG: log, FAKE_STATES: states },
    checkHost: noHostCheck,
    bakedBoxes: false,
  });
  const argv = async () =>
    (await readFile(log, "utf8"))
      .trim()
      .split("\n")
      .filter((l) => !l.startsWith("status") && !l.startsWith("ssh-config"));
  return { ...p, provider, argv };
}

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
