// The vagrant provider. First against the real vagrant, where no VM is needed: machines never
// created are absent, a create that fails on the real hypervisor (libvirt at a socket nobody
// serves, VirtualBox not installed) gives the translated error and keeps the output, destroy
// and logs of machines never made. Then the orchestration with VMs, which cannot run here: a
// stand-in `vagrant` on PATH answers in vagrant's formats (the recordings in
// test/fixtures/vagrant/) and records how it was called.
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { parse } from "yaml";
import { defaultPlan } from "../../../test/helpers/fixtures.js";
import { blob } from "../../../test/helpers/host-keys.js";
import { requireTool } from "../../../test/helpers/tools.js";
import { noHostCheck, project, states } from "../../../test/helpers/vagrant-provider.js";
import { DEFAULT_CLUSTER_YAML } from "../../config/default-cluster.js";
import { UserError } from "../../errors.js";
import { clusterPaths } from "../../plan/cluster-dir.js";
import type { Plan } from "../../plan/types.js";
import { validateCluster } from "../../plan/validate.js";
import { renderVagrantfile } from "../../render/vagrantfile.js";
import { which } from "../host.js";
import { vagrantPaths } from "./cli.js";
import { createVagrantProvider } from "./provider.js";

function libvirtPlan(): Plan {
  const raw = parse(DEFAULT_CLUSTER_YAML) as { provider: { hypervisor: string } };
  raw.provider.hypervisor = "libvirt";
  const r = validateCluster(raw);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.plan;
}

test("real vagrant status of a Vagrantfile whose machines were never created: every node absent", async (t) => {
  if (!requireTool(t, "vagrant")) return;
  const { dir, ctx, env } = await project(t);
  const plan = defaultPlan();
  await writeFile(vagrantPaths(dir).vagrantfile, renderVagrantfile(plan));
  const machines = await createVagrantProvider({ env, checkHost: noHostCheck }).list(plan, ctx);
  assert.deepEqual(machines, [
    { node: "master-1", state: "absent" },
    { node: "worker-1", state: "absent" },
    { node: "worker-2", state: "absent" },
  ]);
});

test("create on libvirt when libvirtd does not answer: the host check first, the Vagrantfile written once, one line with the fix, the output kept", async (t) => {
  if (!requireTool(t, "vagrant")) return;
  const { root, dir, ctx, lines, env } = await project(t);
  // A socket path where nothing listens, whether or not a libvirtd runs on this host.
  const uri = `qemu+unix:///system?socket=${join(root, "no-libvirtd.sock")}`;
  const order: string[] = [];
  const provider = createVagrantProvider({
    env: { ...env, LIBVIRT_DEFAULT_URI: uri },
    checkHost: async () => {
      order.push(existsSync(vagrantPaths(dir).vagrantfile) ? "host check after the Vagrantfile" : "host check");
      return [];
    },
  });
  const plan = libvirtPlan();
  const e: unknown = await provider.create(plan, ctx).then(
    () => assert.fail("create succeeded"),
    (err: unknown) => err,
  );
  assert.deepEqual(order, ["host check"]);
  assert.ok(e instanceof UserError, String(e));
  assert.equal(
    e.message,
    `vagrant cannot connect to libvirt at ${uri}: ${join(root, "no-libvirtd.sock")}: No such file or directory`,
  );
  assert.match(e.hint ?? "", /^libvirtd is not running: start it/);
  const logPath = /^vagrant's full output: (.+-vagrant-up\.log)$/.exec(e.details ?? "")?.[1] ?? assert.fail(e.details);
  assert.ok(logPath.startsWith(clusterPaths(dir).logs));
  assert.match(
    readFileSync(logPath, "utf8"),
    /\$ vagrant up --provider libvirt --no-provision --parallel --no-color master-1 worker-1 worker-2\n/,
  );
  assert.match(readFileSync(logPath, "utf8"), /Error while connecting to Libvirt/);

  const vagrantfile = vagrantPaths(dir).vagrantfile;
  assert.equal(await readFile(vagrantfile, "utf8"), renderVagrantfile(plan));
  assert.ok(lines.includes(`wrote ${vagrantfile}`));
  assert.ok(lines.includes("vagrant up master-1, worker-1, worker-2 on libvirt"));
  // Vagrant's lines reach the log named by their machine.
  assert.ok(
    lines.includes("master-1: An error occurred. The error will be shown after all tasks complete."),
    lines.join("\n"),
  );

  // Again: the unchanged Vagrantfile is not rewritten.
  const mtime = statSync(vagrantfile).mtimeMs;
  lines.length = 0;
  await assert.rejects(provider.create(plan, ctx), UserError);
  assert.equal(statSync(vagrantfile).mtimeMs, mtime);
  assert.ok(!lines.some((l) => l.startsWith("wrote ")));

  // Nothing was created, so destroy needs no libvirt (vagrant-libvirt's destroy would connect).
  await writeFile(clusterPaths(dir).knownHosts, `[127.0.0.1]:2222 ssh-ed25519 ${blob(1).toString("base64")}\n`);
  await provider.destroy(plan, ctx);
  for (const gone of [vagrantfile, vagrantPaths(dir).state, clusterPaths(dir).knownHosts])
    assert.equal(existsSync(gone), false, gone);
  assert.ok(existsSync(logPath), "destroy kept the logs");
});

test("create on VirtualBox where it is not installed: one line saying so", async (t) => {
  if (!requireTool(t, "vagrant")) return;
  if (which("VBoxManage")) return t.skip("VirtualBox is installed: this test would make real VMs");
  const { ctx, env } = await project(t);
  await assert.rejects(createVagrantProvider({ env, checkHost: noHostCheck }).create(defaultPlan(), ctx), {
    name: "UserError",
    message: "VirtualBox is not installed: vagrant cannot find its VBoxManage command",
  });
});

test("logs of a machine that was never created say why there are none (real vagrant ssh)", async (t) => {
  if (!requireTool(t, "vagrant")) return;
  const { dir, ctx, env } = await project(t);
  const plan = defaultPlan();
  await writeFile(vagrantPaths(dir).vagrantfile, renderVagrantfile(plan));
  const text = await createVagrantProvider({ env, checkHost: noHostCheck }).logs(plan, "master-1", ctx);
  assert.match(
    text,
    /^no system log from master-1: the machine does not exist \(vagrant's full output: .+-vagrant-ssh\.log\)$/,
  );
});

// ---- With machines: a stand-in vagrant ------------------------------------------------

const FAKE_VAGRANT = `#!/usr/bin/env bash
# A stand-in for vagrant: records its calls, answers from $FAKE_VAGRANT/state ("machine state" lines).
d=$FAKE_VAGRANT
echo "$VAGRANT_CWD|$*" >>"$d/calls"
case $1 in
status)
  while read -r m s; do
    echo "1795882457,$m,metadata,provider,virtualbox"
    echo "1795882457,$m,provider-name,virtualbox"
    echo "1795882457,$m,state,$s"
  done <"$d/state" ;;
ssh-config)
  shift
  for m in "$@"; do cat "$d/ssh/$m"; echo; done ;;
up)
  shift
  while [ $# -gt 0 ]; do
    case $1 in
    --provider) shift ;;
    -*) ;;
    *) echo "==> $1: Booting VM..."; echo "    $1: SSH username: vagrant"; sed -i "s/^$1 .*/$1 running/" "$d/state" ;;
    esac
    shift
  done ;;
destroy)
  sed -i 's/ .*/ not_created/' "$d/state"
  echo "==> master-1: Destroying VM and associated drives..." ;;
*) echo "unexpected: $*" >&2; exit 1 ;;
esac
`;

/** A cluster whose machines are in `machines` states, with the stand-in vagrant first on PATH. */
async function standIn(t: TestContext, machines: Record<string, string>) {
  const p = await project(t);
  const fake = join(p.root, "fake");
  await mkdir(join(fake, "bin"), { recursive: true });
  await mkdir(join(fake, "ssh"));
  await writeFile(join(fake, "bin", "vagrant"), FAKE_VAGRANT);
  await chmod(join(fake, "bin", "vagrant"), 0o755);
  const setStates = (s: Record<string, string>) =>
    writeFile(
      join(fake, "state"),
      Object.entries(s)
        .map(([m, state]) => `${m} ${state}\n`)
        .join(""),
    );
  await setStates(machines);
  const recording = readFileSync(
    new URL("../../../test/fixtures/vagrant/ssh-config-virtualbox.rendered-from-template.txt", import.meta.url),
    "utf8",
  );
  for (const block of recording.split("\n\n").filter((b) => b.trim()))
    await writeFile(join(fake, "ssh", block.split("\n")[0]?.replace("Host ", "") ?? ""), `${block}\n`);
  const env = { ...p.env, PATH: `${join(fake, "bin")}:${process.env.PATH}`, FAKE_VAGRANT: fake };
  const calls = () =>
    readFileSync(join(fake, "calls"), "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => {
        const [cwd, args] = l.split("|");
        assert.equal(cwd, p.dir, "VAGRANT_CWD is the cluster directory");
        return args;
      });
  return { ...p, env, calls, setStates, provider: createVagrantProvider({ env, checkHost: noHostCheck }) };
}

/** A host key recorded before (a well-formed entry: kubelab refuses a damaged known_hosts). */
const key = `ssh-ed25519 ${blob(1).toString("base64")}`;

test("create starts only the machines not running (VirtualBox: one at a time), reaches them at their lab addresses, and forgets old host keys there for new machines", async (t) => {
  const s = await standIn(t, { "master-1": "running", "worker-1": "not_created", "worker-2": "poweroff" });
  const plan = defaultPlan();
  await writeFile(vagrantPaths(s.dir).vagrantfile, renderVagrantfile(plan));
  const known = clusterPaths(s.dir).knownHosts;
  await writeFile(known, `192.168.56.11 ${key}\n192.168.56.12 ${key}\n192.168.56.13 ${key}\n`);

  const machines = await s.provider.create(plan, s.ctx);
  assert.deepEqual(s.calls(), [
    "status --machine-readable",
    "ssh-config master-1",
    "up --provider virtualbox --no-provision --no-parallel --no-color worker-1 worker-2",
    "status --machine-readable",
    "ssh-config master-1 worker-1 worker-2",
  ]);
  const keys = "/home/dev/My Labs/.kubelab/lab/.vagrant/machines";
  assert.deepEqual(machines, [
    {
      node: "master-1",
      state: "running",
      endpoint: {
        host: "192.168.56.11",
        port: 22,
        user: "vagrant",
        privateKeyPath: `${keys}/master-1/virtualbox/private_key`,
      },
    },
    {
      node: "worker-1",
      state: "running",
      endpoint: {
        host: "192.168.56.12",
        port: 22,
        user: "vagrant",
        privateKeyPath: `${keys}/worker-1/virtualbox/private_key`,
      },
    },
    {
      node: "worker-2",
      state: "running",
      endpoint: {
        host: "192.168.56.13",
        port: 22,
        user: "vagrant",
        privateKeyPath: "/home/dev/.vagrant.d/insecure_private_key",
      },
    },
  ]);
  // worker-1 is new: a key recorded for its address belonged to another VM. The others are the same VMs.
  assert.equal(await readFile(known, "utf8"), `192.168.56.11 ${key}\n192.168.56.13 ${key}\n`);
  assert.ok(s.lines.includes("worker-1: Booting VM..."), s.lines.join("\n"));
  assert.ok(s.lines.includes("worker-2: SSH username: vagrant"));
});

test("create with every machine running runs no vagrant up; list reports stopped machines without an endpoint", async (t) => {
  const s = await standIn(t, { "master-1": "running", "worker-1": "running", "worker-2": "running" });
  const plan = defaultPlan();
  await writeFile(vagrantPaths(s.dir).vagrantfile, renderVagrantfile(plan));
  assert.deepEqual(
    states(await s.provider.create(plan, s.ctx)),
    states(plan.nodes.map((n) => ({ node: n.name, state: "running" }))),
  );
  assert.ok(!s.calls().some((c) => c?.startsWith("up")));
  await s.setStates({ "master-1": "running", "worker-1": "saved", "worker-2": "not_created" });
  assert.deepEqual((await s.provider.list(plan, s.ctx)).slice(1), [
    { node: "worker-1", state: "stopped" },
    { node: "worker-2", state: "absent" },
  ]);
});

test("libvirt: machines made in parallel; destroy removes them all, then the Vagrantfile, vagrant's state and the known host keys", async (t) => {
  const s = await standIn(t, { "master-1": "not_created", "worker-1": "not_created", "worker-2": "not_created" });
  const plan = libvirtPlan();
  await s.provider.create(plan, s.ctx);
  assert.equal(s.calls()[0], "up --provider libvirt --no-provision --parallel --no-color master-1 worker-1 worker-2");
  await mkdir(join(vagrantPaths(s.dir).state, "machines"), { recursive: true });
  await writeFile(clusterPaths(s.dir).knownHosts, `[127.0.0.1]:2222 ${key}\n`);
  await s.provider.destroy(plan, s.ctx);
  assert.deepEqual(s.calls().slice(-3), [
    "status --machine-readable",
    "ssh-config master-1 worker-1 worker-2",
    "destroy -f --parallel --no-color",
  ]);
  for (const gone of [vagrantPaths(s.dir).vagrantfile, vagrantPaths(s.dir).state, clusterPaths(s.dir).knownHosts])
    assert.equal(existsSync(gone), false, gone);
  assert.ok(
    s.lines.some((l) => /^removed master-1, worker-1, worker-2 in \d+\.\d s$/.test(l)),
    s.lines.join("\n"),
  );
});

test("create refuses to drop a VM from the Vagrantfile while it exists (vagrant could no longer remove it)", async (t) => {
  const s = await standIn(t, {
    "master-1": "running",
    "worker-1": "running",
    "worker-2": "running",
    "worker-3": "poweroff",
  });
  const plan = defaultPlan();
  const old = "# the Vagrantfile of a cluster with worker-3\n";
  await writeFile(vagrantPaths(s.dir).vagrantfile, old);
  assert.deepEqual((await s.provider.list(plan, s.ctx)).at(-1), { node: "worker-3", state: "stopped" });
  // Nothing to start: the Vagrantfile is not written, and worker-3's VM stays known to vagrant.
  await s.provider.create(plan, s.ctx);
  assert.equal(await readFile(vagrantPaths(s.dir).vagrantfile, "utf8"), old);
  // A machine to start would need a Vagrantfile without worker-3: refused until it is pruned.
  await s.setStates({ "master-1": "running", "worker-1": "running", "worker-2": "poweroff", "worker-3": "poweroff" });
  await assert.rejects(s.provider.create(plan, s.ctx), {
    name: "UserError",
    message: "the cluster file no longer has worker-3, whose VMs still exist",
  });
  assert.equal(await readFile(vagrantPaths(s.dir).vagrantfile, "utf8"), old);
  assert.ok(!s.calls().some((c) => c?.startsWith("up")));
});
