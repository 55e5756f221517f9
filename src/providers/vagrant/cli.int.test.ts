// Running the real vagrant (no VM is made): its output streamed line by line and kept in a run
// log, a real failure translated (a box that cannot be read, on libvirt's in-process test
// driver, so no libvirtd is involved), vagrant missing, a timeout and an abort.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { defaultPlan } from "../../../test/helpers/fixtures.js";
import { requireTool } from "../../../test/helpers/tools.js";
import { UserError } from "../../errors.js";
import { clusterPaths } from "../../plan/cluster-dir.js";
import { renderVagrantfile } from "../../render/vagrantfile.js";
import { runVagrant, vagrantPaths } from "./cli.js";

/** A cluster directory with `vagrantfile` in it, and an environment with a VAGRANT_HOME of its own. */
async function cluster(t: TestContext, vagrantfile: string) {
  const root = await mkdtemp(join(tmpdir(), "kubelab-vagrant-cli-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, ".kubelab", "lab");
  await mkdir(dir, { recursive: true });
  await writeFile(vagrantPaths(dir).vagrantfile, vagrantfile);
  return { dir, env: { ...process.env, VAGRANT_HOME: join(root, "vagrant.d") } };
}

test("runVagrant streams every line and keeps them in a run log; vagrant reads the cluster's Vagrantfile, not the cwd's", async (t) => {
  if (!requireTool(t, "vagrant")) return;
  const { dir, env } = await cluster(t, renderVagrantfile(defaultPlan()));
  // The working directory has a Vagrantfile of its own, which fails when loaded.
  const elsewhere = await mkdtemp(join(tmpdir(), "kubelab-vagrant-cwd-"));
  t.after(() => rm(elsewhere, { recursive: true, force: true }));
  await writeFile(join(elsewhere, "Vagrantfile"), 'raise "the working directory\'s Vagrantfile was read"\n');
  const cwd = process.cwd();
  const lines: string[] = [];
  process.chdir(elsewhere);
  const r = await runVagrant(["status"], { clusterDir: dir, env, onLine: (l) => lines.push(l) }).finally(() =>
    process.chdir(cwd),
  );
  assert.ok(
    lines.some((l) => /^master-1 +not created/.test(l)),
    lines.join("\n"),
  );
  assert.ok(lines.some((l) => /^worker-2 +not created/.test(l)));
  assert.equal(r.stdout.split("\n").length, lines.length);
  const log = readFileSync(r.logPath ?? assert.fail("no run log"), "utf8");
  assert.match(r.logPath ?? "", /-vagrant-status\.log$/);
  assert.ok(r.logPath?.startsWith(`${clusterPaths(dir).logs}/`));
  assert.match(log, /Z \$ vagrant status\n.*Z \(VAGRANT_CWD=.*\/\.kubelab\/lab\)\n/);
  assert.match(log, /Z master-1 +not created/);
});

test("a real failure (a box file that is not there) throws the translated UserError, its full output in a run log", async (t) => {
  if (!requireTool(t, "vagrant")) return;
  const { dir, env } = await cluster(
    t,
    `Vagrant.configure("2") do |config|
  config.vm.box = "kubelab-test/missing"
  config.vm.box_url = "file:///nonexistent/kubelab-test.box"
  config.vm.define "master-1" do |m|
    m.vm.provider "libvirt" do |lv|
      lv.uri = "test:///default"  # libvirt's in-process test driver: no daemon, no real VM
    end
  end
end
`,
  );
  const e: unknown = await runVagrant(["up", "--provider", "libvirt", "--no-color"], { clusterDir: dir, env }).then(
    () => assert.fail("vagrant up succeeded"),
    (err: unknown) => err,
  );
  assert.ok(e instanceof UserError, String(e));
  assert.equal(e.message, "cannot open the box file /nonexistent/kubelab-test.box");
  assert.match(e.hint ?? "", /vagrant box add/);
  const logPath = /^vagrant's full output: (.+)$/.exec(e.details ?? "")?.[1] ?? assert.fail(`details: ${e.details}`);
  assert.deepEqual(readdirSync(clusterPaths(dir).logs), [logPath.split("/").pop()]);
  const log = readFileSync(logPath, "utf8");
  assert.match(log, /\$ vagrant up --provider libvirt --no-color\n/);
  assert.match(log, /--- stdout\n.*Bringing machine 'master-1' up with 'libvirt' provider\.\.\./);
  assert.match(log, /--- stderr\n(.*\n)*.*Couldn't open file \/nonexistent\/kubelab-test\.box/);
});

test("vagrant not on PATH, a timeout and an abort each say so", async (t) => {
  const { dir, env } = await cluster(t, renderVagrantfile(defaultPlan()));
  await assert.rejects(runVagrant(["status"], { clusterDir: dir, env: { ...env, PATH: "/nonexistent" } }), {
    name: "UserError",
    message: "vagrant is not installed: there is no vagrant command on PATH",
  });
  if (!requireTool(t, "vagrant")) return;
  await assert.rejects(runVagrant(["status"], { clusterDir: dir, env, timeoutMs: 300 }), {
    name: "UserError",
    message: "vagrant status did not finish within 0.3 s",
  });
  const abort = new AbortController();
  const run = runVagrant(["status"], { clusterDir: dir, env, signal: abort.signal });
  abort.abort(new Error("stop"));
  await assert.rejects(run, { message: "stop" });
});
