// A node's disk full while packages are installed and files written, against fake nodes: the
// error names the node and the path (or the packages) and says how to fix it, whether dpkg or
// apt printed "No space left on device", the write script did, or SFTP said only "Failure"
// and the node's filesystem turned out full. A write that fails with room left stays as it was.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fakeCluster, freshNode } from "../../test/helpers/fake-node.js";
import { type FakeRemote, REST } from "../../test/helpers/fake-remote.js";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import { keyedSource } from "../../test/helpers/openpgp-keys.js";
import { pinnedContainerdFiles } from "../artifacts/package-source.js";
import { DiskFullError } from "../errors.js";
import { HostsError } from "../remote/hosts.js";
import { installContainerdPhase } from "./install-containerd.js";
import { installKubernetesPhase } from "./install-kubernetes.js";
import { writeFilesPhase } from "./write-files.js";

const plan = defaultPlan();
const V = plan.kubernetes.packageVersion;
const APT = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"];
const INSTALL_PINNED = [
  ...APT,
  "install",
  "-y",
  "--allow-downgrades",
  "--no-install-recommends",
  `kubeadm=${V}`,
  `kubelet=${V}`,
  `kubectl=${V}`,
];
const tarball = `/var/cache/kubelab/${pinnedContainerdFiles("amd64").containerd.sha256}.tar.gz`;

/** df -Pk's answer for a filesystem with `kib` KiB available. */
const df = (kib: number) => ({
  stdout: `Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda1 20509264 ${20509264 - kib} ${kib} 100% /\n`,
});

/** The one node failure of a phase's HostsError, with the error itself. */
async function failure(run: Promise<void>): Promise<{ message: string; error: unknown }> {
  let caught: unknown;
  await run.catch((e) => {
    caught = e;
  });
  assert.ok(caught instanceof HostsError, `expected a HostsError, got ${caught}`);
  assert.equal(caught.failures.length, 1, caught.message);
  return { message: caught.message, error: caught.failures[0]?.error };
}

/** fullDisk asserts the phase's error: the node, what was being written, and the fix, on two lines. */
function fullDisk(f: { message: string; error: unknown }, node: string, doing: string): void {
  assert.ok(f.error instanceof DiskFullError, f.message);
  assert.equal(f.error.doing, doing);
  assert.ok(
    f.message.includes(` - ${node}: no space left on device while ${doing}\n     fix: free space on ${node} (df -h`),
    f.message,
  );
  assert.match(f.message, /85% full/);
}

/** aptWorks scripts installing from the repository as succeeding, but for what the test overrides. */
function aptWorks(node: FakeRemote): FakeRemote {
  return node
    .on([...APT, REST])
    .on(["mkdir", REST])
    .on(["sh", "-c", REST])
    .on(["apt-mark", REST]);
}

test("dpkg out of space while installing kubeadm: the node, the packages and dpkg's path", async () => {
  const c = await fakeCluster(plan, { "worker-1": freshNode() }, { packages: keyedSource(plan) });
  aptWorks(c.node("worker-1")).on(INSTALL_PINNED, {
    code: 100,
    stderr:
      "Unpacking kubeadm (1.37.2-1.1) ...\n" +
      "dpkg: error processing archive /var/cache/apt/archives/kubeadm_1.37.2-1.1_amd64.deb (--unpack):\n" +
      " cannot copy extracted data for './usr/bin/kubeadm' to '/usr/bin/kubeadm.dpkg-new': failed to write (No space left on device)\n" +
      "E: Sub-process /usr/bin/dpkg returned an error code (1)\n",
  });
  const f = await failure(installKubernetesPhase.run(c.ctx));
  fullDisk(f, "worker-1", "installing kubeadm, kubelet, kubectl (writing /usr/bin/kubeadm.dpkg-new)");
});

test("apt without room to download the packages: its directory is named", async () => {
  const c = await fakeCluster(plan, { "worker-1": freshNode() }, { packages: keyedSource(plan) });
  aptWorks(c.node("worker-1")).on(INSTALL_PINNED, {
    code: 100,
    stderr: "E: You don't have enough free space in /var/cache/apt/archives/.\n",
  });
  const f = await failure(installKubernetesPhase.run(c.ctx));
  fullDisk(f, "worker-1", "installing kubeadm, kubelet, kubectl (writing /var/cache/apt/archives/)");
});

test("the containerd release over SFTP, which says only Failure, on a full disk: the path", async () => {
  const c = await fakeCluster(plan, { "worker-1": freshNode() });
  const worker = c.node("worker-1").on(["mkdir", "-p", REST]).on(["tar", REST]).on(["rm", "-f", REST]);
  worker.failWrites(tarball).on(["df", "-Pk", "--", "/var/cache/kubelab"], df(12));
  const f = await failure(installContainerdPhase.run(c.ctx));
  fullDisk(f, "worker-1", `writing ${tarball}`);
});

test("unpacking the release when tar runs out of room: the directory and the archive", async () => {
  const c = await fakeCluster(plan, { "worker-1": freshNode() });
  const worker = c.node("worker-1").on(["mkdir", "-p", REST]).on(["tar", REST]).on(["rm", "-f", REST]);
  worker.on(["tar", "-C", "/opt/cni/bin", REST], {
    code: 2,
    stderr:
      "tar: ./bridge: Cannot write: No space left on device\ntar: Exiting with failure status due to previous errors\n",
  });
  const f = await failure(installContainerdPhase.run(c.ctx));
  const archive = pinnedContainerdFiles("amd64").cniPlugins.url.split("/").at(-1);
  fullDisk(f, "worker-1", `unpacking ${archive} into /opt/cni/bin`);
});

test("the write script (a sudo user's node) out of room while writing a node file: the path", async () => {
  const c = await fakeCluster(plan, { "worker-1": freshNode() });
  c.node("worker-1").failWrites(
    /kubeadm/,
    "`sh -c ... kubelab-write-file` exited 1:\ncp: error writing '/etc/kubernetes/.kubeadm.yaml.tmp': No space left on device",
  );
  const f = await failure(writeFilesPhase.run(c.ctx));
  assert.ok(f.error instanceof DiskFullError, f.message);
  assert.match(f.error.doing, /^writing \/etc\/kubernetes\/kubeadm/);
  assert.match(f.message, / - worker-1: no space left on device while writing \/etc\/kubernetes\/kubeadm/);
});

test("a failed write with room left is not put down to the disk", async () => {
  const c = await fakeCluster(plan, { "worker-1": freshNode() });
  const worker = c.node("worker-1").on(["mkdir", "-p", REST]).on(["tar", REST]).on(["rm", "-f", REST]);
  worker.failWrites(tarball, "Permission denied").on(["df", REST], df(5_000_000));
  const f = await failure(installContainerdPhase.run(c.ctx));
  assert.ok(!(f.error instanceof DiskFullError));
  assert.match(f.message, / - worker-1: cannot write \S+: Permission denied/);
  // Without df on the node, the same.
  const d = await fakeCluster(plan, { "worker-1": freshNode() });
  d.node("worker-1").on(["mkdir", "-p", REST]).on(["tar", REST]).on(["rm", "-f", REST]).failWrites(tarball);
  const g = await failure(installContainerdPhase.run(d.ctx));
  assert.ok(!(g.error instanceof DiskFullError));
  assert.match(g.message, /cannot write \S+: Failure/);
});
