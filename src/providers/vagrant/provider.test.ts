// The vagrant provider where no vagrant runs: a cluster without a Vagrantfile has every node
// absent, and a failing host check stops create before anything is written.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { defaultPlan } from "../../../test/helpers/fixtures.js";
import { noHostCheck, project, states } from "../../../test/helpers/vagrant-provider.js";
import { UserError } from "../../errors.js";
import { vagrantPaths } from "./cli.js";
import { createVagrantProvider } from "./provider.js";

test("no Vagrantfile: every node absent, without running vagrant (nor reading a parent's Vagrantfile)", async (t) => {
  const { root, ctx } = await project(t);
  await writeFile(join(root, "Vagrantfile"), 'raise "a parent directory\'s Vagrantfile was read"\n');
  // vagrant is not on this PATH: running it would fail.
  const provider = createVagrantProvider({ env: { PATH: "/nonexistent" }, checkHost: noHostCheck });
  const plan = defaultPlan();
  assert.deepEqual(
    states(await provider.list(plan, ctx)),
    states(plan.nodes.map((n) => ({ node: n.name, state: "absent" }))),
  );
  await provider.destroy(plan, ctx);
  assert.match(await provider.logs(plan, "master-1", ctx), /^no system log from master-1: its VM was never created/);
});

test("a failing host check stops create before anything is written or run", async (t) => {
  const { dir, ctx } = await project(t);
  const provider = createVagrantProvider({
    env: { PATH: "/nonexistent" },
    checkHost: async () => {
      throw new UserError("this host cannot run VMs");
    },
  });
  await assert.rejects(provider.create(defaultPlan(), ctx), { message: "this host cannot run VMs" });
  assert.equal(existsSync(vagrantPaths(dir).vagrantfile), false);
});
