// etcd backup and restore against a fake control plane: the etcdctl and etcdutl commands, the
// local file's mode, the node's temporary copy removed, and what restore refuses.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { FakeRemote, REST } from "../../test/helpers/fake-remote.js";
import { defaultPlan, planWith } from "../../test/helpers/fixtures.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { UserError } from "../errors.js";
import { etcdctlArgv } from "../phases/etcd.js";
import { etcdutlArgv } from "../phases/etcd-snapshot.js";
import type { MachineProvider } from "../providers/types.js";
import { backupEtcd, restoreEtcd } from "./etcd-backup.js";

const SNAPSHOT = Buffer.from([0, 1, 2, 250, 255, 10, 13, 0, 66]);
const STATUS = '{"hash":3700113574,"revision":4242,"totalKey":1187,"totalSize":5361664,"version":"3.6.0"}';
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const TMP = /^\/var\/lib\/etcd\/kubelab-(snapshot|restore)-[\w-]+\.db$/;

/** A control plane whose etcd saves SNAPSHOT wherever it is asked to. */
function controlPlane(bytes = SNAPSHOT) {
  const [sh, c, script, name] = etcdctlArgv([]);
  const [ush, uc, uscript, uname] = etcdutlArgv([]);
  // A later entry wins: the generic shell first, the etcd commands after it.
  return new FakeRemote("master-1")
    .on(["sh", "-c", REST])
    .on([sh as string, c as string, script as string, name as string, "snapshot", "save", TMP], {
      stdout: "Snapshot saved\n",
    })
    .on([ush as string, uc as string, uscript as string, uname as string, "snapshot", "status", TMP, "-w", "json"], {
      stdout: STATUS,
      stderr: "kubelab-etcd-tool=etcdutl\n",
    })
    .on([ush as string, uc as string, uscript as string, uname as string, "snapshot", "restore", REST])
    .on(["base64", "-w", "0", TMP], { stdout: bytes.toString("base64") })
    .on(["sha256sum", TMP], (call) => ({ stdout: `${sha(SNAPSHOT)}  ${call.argv[1]}\n` }))
    .on(["rm", REST])
    .on(["crictl", "ps", REST], { stdout: "" });
}

const options = (remote: FakeRemote) => ({
  provider: {} as MachineProvider,
  clusterDir: "/nonexistent",
  log: () => {},
  connect: async () => remote,
  pollMs: 1,
});

test("backup: etcdctl snapshot save on the node, etcdutl status, the copy 0600 even over a file that was 0644, the node's copy removed", async (t) => {
  const dir = await tempDir(t);
  const out = join(dir, "etcd.db");
  await writeFile(out, "an older file anyone could read\n", { mode: 0o644 });
  const remote = controlPlane();
  const r = await backupEtcd(defaultPlan(), out, options(remote));

  assert.deepEqual(await readFile(out), SNAPSHOT);
  assert.equal((await stat(out)).mode & 0o777, 0o600);
  const cmds = remote.commands();
  const save = cmds[0] as string[];
  assert.deepEqual(save.slice(0, 4), etcdctlArgv([]));
  assert.deepEqual(save.slice(4, 6), ["snapshot", "save"]);
  const tmp = save[6] as string;
  assert.match(tmp, TMP);
  assert.deepEqual(cmds[1], etcdutlArgv(["snapshot", "status", tmp, "-w", "json"]));
  assert.deepEqual(cmds.at(-1), ["rm", "-f", tmp], "the node's temporary copy is removed last");
  assert.equal(r.revision, 4242);
  assert.equal(r.totalKey, 1187);
  assert.equal(r.checkedWith, "etcdutl");
  assert.equal(r.sha256, sha(SNAPSHOT));
  assert.ok(remote.closed);
});

test("backup: a copy that arrives damaged is an error, and the node's copy is still removed", async (t) => {
  const dir = await tempDir(t);
  const remote = controlPlane(Buffer.from("something else"));
  await assert.rejects(backupEtcd(defaultPlan(), join(dir, "etcd.db"), options(remote)), /arrived damaged/);
  assert.deepEqual(remote.commands().at(-1)?.slice(0, 2), ["rm", "-f"]);
});

test("backup: --out in a directory that does not exist is refused before the node is reached", async (t) => {
  const dir = await tempDir(t);
  const remote = controlPlane();
  await assert.rejects(backupEtcd(defaultPlan(), join(dir, "no", "etcd.db"), options(remote)), UserError);
  await assert.rejects(backupEtcd(defaultPlan(), dir, options(remote)), /is a directory/);
  assert.deepEqual(remote.calls, []);
});

test("restore: refused with several control planes, before asking anything", async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, "etcd.db");
  await writeFile(file, SNAPSHOT);
  const plan = planWith((raw) => {
    raw.nodes[0].count = 3;
    raw.kubernetes.controlPlaneEndpoint = "192.168.56.11:6443";
  });
  const asked: string[] = [];
  await assert.rejects(
    restoreEtcd(plan, file, {
      ...options(controlPlane()),
      confirm: async (q) => {
        asked.push(q);
        return true;
      },
    }),
    (e: unknown) => e instanceof UserError && /one control plane; lab has 3/.test(e.message),
  );
  assert.deepEqual(asked, []);
});

test("restore: a no at the prompt changes nothing", async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, "etcd.db");
  await writeFile(file, SNAPSHOT);
  const remote = controlPlane();
  const r = await restoreEtcd(defaultPlan(), file, { ...options(remote), confirm: async () => false });
  assert.equal(r, undefined);
  assert.deepEqual(remote.calls, []);
});

test("restore: snapshot copied 0600 and checked, restored into a fresh directory, static pods parked, data swapped, manifests back", async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, "etcd.db");
  await writeFile(file, SNAPSHOT);
  const remote = controlPlane();
  // No admin.conf on the fake: the run stops where it would wait for the API.
  await assert.rejects(
    restoreEtcd(defaultPlan(), file, { ...options(remote), confirm: async () => true }),
    /no \/etc\/kubernetes\/admin\.conf/,
  );
  const write = remote.calls.find((c) => c.kind === "writeFile");
  assert.ok(write && write.kind === "writeFile");
  assert.match(write.path, TMP);
  assert.equal(write.mode, 0o600);
  const cmds = remote.commands();
  const plan = defaultPlan();
  const cp = plan.nodes[0];
  assert.deepEqual(cmds[0], etcdutlArgv(["snapshot", "status", write.path, "-w", "json"]));
  const fresh = write.path.replace(/\.db$/, "");
  assert.deepEqual(
    cmds[1],
    etcdutlArgv([
      "snapshot",
      "restore",
      write.path,
      `--data-dir=${fresh}`,
      `--name=${cp?.name}`,
      `--initial-cluster=${cp?.name}=https://${cp?.ip}:2380`,
      `--initial-advertise-peer-urls=https://${cp?.ip}:2380`,
      "--bump-revision=1000000000",
      "--mark-compacted",
    ]),
  );
  assert.deepEqual(cmds[2]?.slice(-2), ["/etc/kubernetes/manifests", "/etc/kubernetes/kubelab-restore-manifests"]);
  assert.equal(cmds[3]?.[0], "crictl");
  assert.deepEqual(cmds[4]?.slice(-3), [
    "/var/lib/etcd",
    fresh,
    fresh.replace(/^\/var\/lib\/etcd\/kubelab-restore-/, "/var/lib/etcd.before-restore-"),
  ]);
  assert.deepEqual(cmds[5]?.slice(-2), ["/etc/kubernetes/kubelab-restore-manifests", "/etc/kubernetes/manifests"]);
  // Once swapped, the restored data is never removed; the uploaded snapshot is.
  assert.deepEqual(cmds.at(-1), ["rm", "-rf", write.path]);
});
