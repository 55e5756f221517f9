// Install containerd against fake nodes: the pinned 2.x release (with runc and the CNI
// plugins) and its unit where `containerd --version` or the unit file differ, the
// distribution's package for the 1.7 line; a restart is marked whenever something changed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fakeCluster, freshNode, preparedNode } from "../../test/helpers/fake-node.js";
import { REST } from "../../test/helpers/fake-remote.js";
import { defaultPlan, planWith } from "../../test/helpers/fixtures.js";
import { pinnedContainerdFiles } from "../artifacts/package-source.js";
import { HostsError } from "../remote/hosts.js";
import { CONTAINERD_UNIT, installContainerdPhase } from "./install-containerd.js";

const plan = defaultPlan();
const UNIT = "/etc/systemd/system/containerd.service";
const files = pinnedContainerdFiles("amd64");
const tarball = (sha: string) => `/var/cache/kubelab/${sha}.tar.gz`;

const FRESH_CHANGES = [`install containerd ${plan.containerd.version}, runc and CNI plugins`, `write ${UNIT}`].map(
  (what) => ({ node: "worker-1", what }),
);

const freshWorker = (dryRun = false) => fakeCluster(plan, { "worker-1": freshNode() }, { dryRun });

test("nodes running the pinned containerd with kubelab's unit get nothing", async () => {
  const c = await fakeCluster(plan);
  await installContainerdPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, []);
  assert.equal(c.ctx.restart.size, 0);
  assert.deepEqual(c.touched(), []);
});

test("a fresh node gets the release files over SSH, unpacked, then the unit enabled", async () => {
  const c = await freshWorker();
  const worker = c.node("worker-1").on(["mkdir", "-p", REST]).on(["tar", REST]).on(["rm", "-f", REST]);
  worker.on(["systemctl", "daemon-reload"]).on(["systemctl", "enable", "containerd"]);
  await installContainerdPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, FRESH_CHANGES);
  // The three files go at once: compare as sets, then the unit, in order, last.
  const cmds = worker.commands().map((a) => a.join(" "));
  assert.deepEqual(
    cmds.slice(0, 6).sort(),
    [
      "mkdir -p /opt/cni/bin",
      "mkdir -p /usr/local",
      `rm -f ${tarball(files.cniPlugins.sha256)}`,
      `rm -f ${tarball(files.containerd.sha256)}`,
      `tar -C /opt/cni/bin -xzf ${tarball(files.cniPlugins.sha256)}`,
      `tar -C /usr/local -xzf ${tarball(files.containerd.sha256)}`,
    ].sort(),
  );
  assert.deepEqual(cmds.slice(6), ["systemctl daemon-reload", "systemctl enable containerd"]);
  assert.deepEqual(
    worker.writes().slice(0, 3).sort(),
    [`${tarball(files.cniPlugins.sha256)}`, `${tarball(files.containerd.sha256)}`, "/usr/local/sbin/runc"].sort(),
  );
  assert.deepEqual(worker.writes().slice(3), [UNIT]);
  assert.equal(worker.files.get("/usr/local/sbin/runc"), `contents of ${files.runc.url}\n`);
  assert.ok(worker.calls.some((c) => c.kind === "writeFile" && c.path === "/usr/local/sbin/runc" && c.mode === 0o755));
  assert.equal(worker.files.get(UNIT), CONTAINERD_UNIT);
  assert.deepEqual(c.ctx.restart.get("worker-1"), new Set(["containerd"]));
  assert.deepEqual(c.touched(), ["worker-1"]);
});

test("another containerd version is replaced; a changed unit alone is rewritten", async () => {
  const old = {
    ...preparedNode(plan, "worker-1"),
    containerd: "containerd github.com/containerd/containerd/v2 v2.0.0 abc",
  };
  const prepared = preparedNode(plan, "worker-2");
  const unit = { ...prepared, files: { ...prepared.files, [UNIT]: "[Service]\nExecStart=/usr/bin/containerd\n" } };
  const c = await fakeCluster(plan, { "worker-1": old, "worker-2": unit }, { dryRun: true });
  await installContainerdPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, [
    { node: "worker-1", what: `install containerd ${plan.containerd.version}, runc and CNI plugins` },
    { node: "worker-2", what: `write ${UNIT}` },
  ]);
  assert.deepEqual(
    new Map(c.ctx.restart),
    new Map([
      ["worker-1", new Set(["containerd"])],
      ["worker-2", new Set(["containerd"])],
    ]),
  );
});

test("for the 1.7 line the distribution's package is installed where none is", async () => {
  const plan17 = planWith((raw) => {
    raw.containerd.version = "1.7";
  });
  const c = await fakeCluster(plan17, {
    "master-1": preparedNode(plan17, "master-1", { packages: { containerd: "1.7.24~ds1-1" } }),
    "worker-1": freshNode(),
    "worker-2": { ...freshNode(), packages: { "containerd.io": "1.7.27-1" } },
  });
  const apt = [
    "env",
    "DEBIAN_FRONTEND=noninteractive",
    "apt-get",
    "install",
    "-y",
    "-o",
    "Dpkg::Options::=--force-confold",
    "containerd",
  ];
  c.node("worker-1").on(apt);
  await installContainerdPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, [{ node: "worker-1", what: "install containerd (distribution package)" }]);
  assert.deepEqual(c.node("worker-1").commands(), [apt]);
  assert.deepEqual(c.node("worker-2").calls, [], "containerd.io counts as installed");
});

test("a dry run records the same changes and runs and writes nothing", async () => {
  const c = await freshWorker(true);
  await installContainerdPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, FRESH_CHANGES);
  assert.deepEqual(c.touched(), []);
});

test("a tarball that does not unpack fails the step on that node, with tar's words", async () => {
  const c = await freshWorker();
  const worker = c.node("worker-1").on(["mkdir", "-p", REST]).on(["tar", REST]).on(["rm", "-f", REST]);
  worker.on(["tar", "-C", "/usr/local", REST], { code: 2, stderr: "tar: Unexpected EOF in archive\n" });
  await assert.rejects(installContainerdPhase.run(c.ctx), (e: Error) => {
    assert.ok(e instanceof HostsError);
    assert.match(
      e.message,
      /^failed on 1 of 3 hosts:\n - worker-1: `tar -C \/usr\/local -xzf \S+` exited 2:\n\s+tar: Unexpected EOF/,
    );
    return true;
  });
  assert.equal(worker.files.has(UNIT), false, "the unit is not written after a failed install");
});
