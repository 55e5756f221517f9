/**
 * The nspawn provider's pure parts, no root needed: bridge names, node network files, the
 * nspawn command line for each host mode, the image build lock.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Plan } from "../../plan/types.js";
import { validateCluster } from "../../plan/validate.js";
import { lockFile } from "./image.js";
import {
  isNodeArgv,
  legacyMachineName,
  machineName,
  nodePaths,
  nspawnArgs,
  nspawnPid,
  startedName,
} from "./machine.js";
import { bridgeName, host0Network } from "./network.js";

function plan(name = "lab"): Plan {
  const r = validateCluster({
    apiVersion: "kubelab.dev/v1alpha1",
    kind: "Cluster",
    metadata: { name },
    provider: { name: "nspawn" },
    nodes: [
      { name: "master-{n}", role: "control-plane", count: 1 },
      { name: "worker-{n}", role: "worker", count: 2 },
    ],
    network: { cidr: "10.231.7.0/24" },
    addons: { metallb: { enabled: false } },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.plan;
}

test("bridge names fit IFNAMSIZ: kl-<name>, or kl- + 12 hex digits of SHA-1 for long names", () => {
  assert.equal(bridgeName("lab"), "kl-lab");
  assert.equal(bridgeName("abcdefghijkl"), "kl-abcdefghijkl"); // exactly 15
  const long = bridgeName("abcdefghijklm");
  assert.match(long, /^kl-[0-9a-f]{12}$/);
  assert.equal(long, bridgeName("abcdefghijklm"));
  assert.notEqual(long, bridgeName("abcdefghijkln"));
  assert.ok(bridgeName("a".repeat(40)).length <= 15);
});

test("node network: static host0 address with the plan's gateway", () => {
  const p = plan();
  const [cp, w1] = p.nodes;
  assert.ok(cp && w1);
  const net = host0Network(p, w1);
  assert.match(net, /^Name=host0$/m);
  assert.match(net, new RegExp(`^Address=${w1.ip}/24$`, "m"));
  assert.match(net, /^Gateway=10\.231\.7\.1$/m);
});

test("nspawn options: the measured set; machined registration only on systemd hosts", () => {
  const p = plan();
  const node = p.nodes[0];
  assert.ok(node);
  const plain = nspawnArgs(p, node, "kl-lab", { systemdInit: false, cgroup: "hybrid" });
  for (const opt of [
    "--boot",
    "--machine=lab.master-1",
    "--hostname=master-1",
    "--network-bridge=kl-lab",
    "--capability=all",
    "--system-call-filter=@keyring",
    "--bind=/dev/kmsg",
    "--register=no",
    "--keep-unit",
  ]) {
    assert.ok(plain.includes(opt), `missing ${opt}`);
  }
  assert.ok(plain.some((a) => a.startsWith("--directory=") && a.endsWith("/lab/master-1/rootfs")));
  const systemd = nspawnArgs(p, node, "kl-lab", { systemdInit: true, cgroup: "unified" });
  assert.ok(systemd.includes("--register=yes"));
  assert.ok(!systemd.includes("--keep-unit"));
});

test("image lock: a stale lock is taken over, a live one is waited for", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-lock-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, "image.lock");
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);

  // A pid that is gone: a child that has exited.
  const dead = spawn(process.execPath, ["-e", ""]);
  await new Promise((r) => dead.once("exit", r));
  await writeFile(path, `${dead.pid}\n`);
  const release = await lockFile(path, log, 5000);
  assert.equal((await readFile(path, "utf8")).trim(), String(process.pid));
  assert.match(lines.join("\n"), /stale/);

  // Held (by us, alive): a second taker times out, then gets it once released.
  await assert.rejects(lockFile(path, log, 300), /timed out waiting for the lock/);
  const second = lockFile(path, log, 5000);
  setTimeout(() => void release(), 200);
  const release2 = await second;
  await release2();
  await assert.rejects(readFile(path), { code: "ENOENT" });
});

test("node images: one cache directory per distribution and release; Ubuntu needs its keyring", async (t) => {
  const { imageDir, ensureImage, distribution } = await import("./image.js");
  assert.match(imageDir("bookworm"), /\/debian-bookworm-v\d+$/);
  assert.match(imageDir("noble"), /\/ubuntu-noble-v\d+$/);
  assert.deepEqual(distribution("jammy").components, ["main", "universe"]);
  assert.throws(() => distribution("sid"), /no node image recipe/);
  const { existsSync } = await import("node:fs");
  const keyring = distribution("noble").keyring ?? "";
  if (existsSync(keyring)) return t.skip(`${keyring} exists here: the missing-keyring error cannot be shown`);
  const { mkdtemp, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const cache = await mkdtemp(`${tmpdir()}/kubelab-images-`);
  const saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = cache;
  try {
    await assert.rejects(ensureImage({ release: "noble", log: () => {} }), /needs Ubuntu's archive keyring/);
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
    await rm(cache, { recursive: true, force: true });
  }
});

test("machine names: <cluster>.<node> never names two nodes, and is a name systemd takes", () => {
  assert.notEqual(machineName("lab", "a-b"), machineName("lab-a", "b"));
  assert.equal(legacyMachineName("lab", "a-b"), legacyMachineName("lab-a", "b"), "the old scheme collided");
  // systemd's machine_name_is_valid: a host name (letters, digits, '-' inside labels, '.' between them).
  const label = "[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?";
  for (const name of [machineName("lab", "a-b"), machineName("a".repeat(20), "worker-10")])
    assert.match(name, new RegExp(`^${label}(\\.${label})*$`));
});

test("a node started under the old machine name is still found, and stopped under that name", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "kubelab-nspawn-names-"));
  const saved = process.env.KUBELAB_NSPAWN_DIR;
  process.env.KUBELAB_NSPAWN_DIR = root;
  // A stand-in for a node's launcher, started by an earlier version: --machine=lab-a-b.
  const old = spawn(process.execPath, [
    "-e",
    "setTimeout(() => {}, 30000)",
    "--",
    "kubelab-launch",
    "--machine=lab-a-b",
  ]);
  t.after(async () => {
    old.kill();
    if (saved === undefined) delete process.env.KUBELAB_NSPAWN_DIR;
    else process.env.KUBELAB_NSPAWN_DIR = saved;
    await rm(root, { recursive: true, force: true });
  });
  await new Promise((r) => old.once("spawn", r));
  const p = nodePaths("lab", "a-b");
  await mkdir(p.dir, { recursive: true });
  await writeFile(p.pidFile, `${old.pid}\n`);
  assert.equal(startedName("lab", "a-b"), "lab.a-b", "without a record: today's name");
  await writeFile(p.meta, JSON.stringify({ machine: "lab-a-b" }));
  assert.equal(nspawnPid("lab", "a-b"), old.pid, "list sees it running");
  assert.equal(startedName("lab", "a-b"), "lab-a-b", "destroy clears its cgroups and machine under the old name");

  assert.ok(isNodeArgv(["systemd-nspawn", "--machine=lab.a-b"], "lab", "a-b"));
  assert.ok(isNodeArgv(["systemd-nspawn", "--machine=lab-a-b"], "lab", "a-b"));
  assert.equal(isNodeArgv(["systemd-nspawn", "--machine=lab-a.b"], "lab", "a-b"), false, "another cluster's node");
  assert.equal(isNodeArgv(["systemd-nspawn", "--machine=lab.a-b"], "lab-a", "b"), false);
});

test("list after a stop or a host reboot: a node with a label and no nspawn is stopped (status shows it so)", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "kubelab-nspawn-stopped-"));
  const saved = process.env.KUBELAB_NSPAWN_DIR;
  process.env.KUBELAB_NSPAWN_DIR = root;
  // master-1 runs (a stand-in for its launcher); worker-1's pid file names a process that is
  // gone, as after a reboot; worker-2 was never made.
  const running = spawn(process.execPath, [
    "-e",
    "setTimeout(() => {}, 30000)",
    "--",
    "kubelab-launch",
    "--machine=lab.master-1",
  ]);
  t.after(async () => {
    running.kill();
    if (saved === undefined) delete process.env.KUBELAB_NSPAWN_DIR;
    else process.env.KUBELAB_NSPAWN_DIR = saved;
    await rm(root, { recursive: true, force: true });
  });
  await new Promise((r) => running.once("spawn", r));
  const gone = spawn(process.execPath, ["-e", ""]);
  await new Promise((r) => gone.once("exit", r));
  const p = plan();
  for (const [node, pid] of [
    ["master-1", running.pid],
    ["worker-1", gone.pid],
  ] as const) {
    const paths = nodePaths("lab", node);
    await mkdir(join(paths.rootfs, "etc/kubelab"), { recursive: true });
    const ip = p.nodes.find((n) => n.name === node)?.ip;
    await writeFile(paths.label, JSON.stringify({ cluster: "lab", node, role: "worker", ip }));
    await writeFile(paths.pidFile, `${pid}\n`);
  }
  const { nspawnProvider } = await import("./provider.js");
  const machines = await nspawnProvider.list(p, { clusterDir: join(root, "cluster"), log: () => {} });
  assert.deepEqual(
    machines.map((m) => [m.node, m.state]),
    [
      ["master-1", "running"],
      ["worker-1", "stopped"],
      ["worker-2", "absent"],
    ],
  );
});
