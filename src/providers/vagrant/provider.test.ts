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

test("remove destroys only the named VMs that exist, by name, while the Vagrantfile still has them", async (t) => {
  const { dir, ctx } = await project(t);
  await writeFile(vagrantPaths(dir).vagrantfile, "# the Vagrantfile of the nodes as they were\n");
  const ran: string[][] = [];
  const status = ["master-1", "worker-1", "worker-2"]
    .map((m) => `1700000000,${m},state,${m === "worker-1" ? "not_created" : "running"}`)
    .join("\n");
  const provider = createVagrantProvider({
    checkHost: noHostCheck,
    runVagrant: async (argv) => {
      ran.push([...argv]);
      if (argv[0] === "status") return { stdout: status, stderr: "", all: status };
      // ssh-config of the running machines: not needed to destroy them.
      return { stdout: "", stderr: "", all: "" };
    },
  });
  const plan = defaultPlan();
  await provider.remove?.(
    { ...plan, nodes: plan.nodes.filter((n) => n.name === "master-1") },
    ["worker-1", "worker-2"],
    ctx,
  );
  assert.deepEqual(ran.at(-1), ["destroy", "-f", "--no-color", "worker-2"]);
  assert.equal(existsSync(vagrantPaths(dir).vagrantfile), true, "the Vagrantfile stays for the VMs left");
});

test("VMs of nodes that left the file: left alone when nothing is to start, refused (naming up --prune) before a Vagrantfile without them", async (t) => {
  const { dir, ctx } = await project(t);
  await writeFile(vagrantPaths(dir).vagrantfile, "# the Vagrantfile of the nodes as they were\n");
  let status = "";
  const provider = createVagrantProvider({
    checkHost: noHostCheck,
    bakedBoxes: false,
    runVagrant: async (argv) => {
      if (argv[0] === "status") return { stdout: status, stderr: "" };
      if (argv[0] === "ssh-config") return { stdout: "", stderr: "" };
      throw new Error(`vagrant ${argv.join(" ")} was not expected`);
    },
  });
  const rows = (states: Record<string, string>) =>
    Object.entries(states)
      .map(([m, s]) => `1700000000,${m},state,${s}`)
      .join("\n");
  status = rows({ "master-1": "running", "worker-1": "running", "worker-2": "running", "worker-9": "running" });
  const machines = await provider.create(defaultPlan(), ctx);
  assert.deepEqual(states(machines).at(-1), ["worker-9", "running"]);
  status = rows({ "master-1": "running", "worker-1": "running", "worker-2": "not_created", "worker-9": "running" });
  await assert.rejects(provider.create(defaultPlan(), ctx), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /^the cluster file no longer has worker-9, whose VMs still exist$/);
    assert.match(e.hint ?? "", /kubelab up --prune/);
    return true;
  });
});
