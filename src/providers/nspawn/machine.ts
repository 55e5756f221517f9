/**
 * One nspawn node: its directory, its root filesystem (a copy of the image, personalized),
 * the systemd-nspawn process that boots it, and stopping it.
 *
 *   /var/lib/kubelab/nspawn/<cluster>/<node>/
 *     rootfs/        cp -a of the image; /etc/kubelab/node.json inside labels the node
 *     machine.json   what kubelab made (machine name, bridge, image)
 *     nspawn.pid     the systemd-nspawn process
 *     console.log    the node's console (nspawn's stdout and stderr)
 *   /var/lib/kubelab/nspawn/<cluster>/.snapshots/<name>/<node>/rootfs/   kubelab snapshot (snapshots.ts)
 *
 * Everything nspawn is run with, and why, is in nspawnArgs below.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import type { Plan, PlanNode } from "../../plan/types.js";
import { mergeHosts } from "../../render/node-files.js";
import { hostEnv, which } from "../host.js";
import { type HostMode, nodeCgroupPids, prepareNodeCgroups } from "./cgroups.js";
import { cmdline, machinesRoot, run, sleep, tryRun } from "./host.js";
import { host0Network } from "./network.js";

/** The label every node carries: the cluster's state lives on the machines. */
export interface NodeLabel {
  readonly cluster: string;
  readonly node: string;
  readonly role: PlanNode["role"];
  readonly ip: string;
}

export const LABEL_PATH = "etc/kubelab/node.json";

export interface NodePaths {
  readonly dir: string;
  readonly rootfs: string;
  readonly label: string;
  readonly pidFile: string;
  readonly console: string;
  readonly meta: string;
}

export function clusterRoot(cluster: string): string {
  return join(machinesRoot(), cluster);
}

export function nodePaths(cluster: string, node: string): NodePaths {
  const dir = join(clusterRoot(cluster), node);
  const rootfs = join(dir, "rootfs");
  return {
    dir,
    rootfs,
    label: join(rootfs, LABEL_PATH),
    pidFile: join(dir, "nspawn.pid"),
    console: join(dir, "console.log"),
    meta: join(dir, "machine.json"),
  };
}

/**
 * The nspawn machine name: unique on the host, and what a node's process is recognised by.
 * systemd takes a host name as machine name (letters, digits, `-`, and `.` between labels);
 * cluster and node names are DNS-1123 labels, which have no `.`, so `<cluster>.<node>` never
 * names two nodes (`<cluster>-<node>` did: `lab` + `a-b` and `lab-a` + `b`).
 */
export function machineName(cluster: string, node: string): string {
  return `${cluster}.${node}`;
}

/** The name nodes made by earlier versions run under: still recognised, never given to a new node. */
export function legacyMachineName(cluster: string, node: string): string {
  return `${cluster}-${node}`;
}

/**
 * startedName is the machine name the node was last started with, as its machine.json
 * records it: a node started by an earlier version keeps its old name until it starts again.
 */
export function startedName(cluster: string, node: string): string {
  try {
    const meta = JSON.parse(readFileSync(nodePaths(cluster, node).meta, "utf8")) as { machine?: unknown };
    if (meta.machine === legacyMachineName(cluster, node)) return meta.machine;
  } catch {}
  return machineName(cluster, node);
}

/** isNodeArgv: the command line is the nspawn (or its launcher) of this node, under either name. */
export function isNodeArgv(argv: readonly string[], cluster: string, node: string): boolean {
  // Just spawned: the launcher shell has not exec'ed nspawn yet.
  const nspawn = argv.some((a) => a.endsWith("systemd-nspawn")) || argv.includes("kubelab-launch");
  const names = [machineName(cluster, node), legacyMachineName(cluster, node)];
  return nspawn && names.some((n) => argv.includes(`--machine=${n}`));
}

export async function readLabel(paths: NodePaths): Promise<NodeLabel | undefined> {
  try {
    return JSON.parse(await readFile(paths.label, "utf8")) as NodeLabel;
  } catch {
    return undefined;
  }
}

async function put(path: string, content: string, mode = 0o644): Promise<void> {
  await writeFile(path, content);
  await chmod(path, mode);
}

/** The SSH host keys each node gets (made by kubelab before its first boot). */
export const NODE_HOST_KEY_TYPES = ["ed25519", "ecdsa"] as const;

/** sshd offers exactly those keys (without it, sshd would look for an RSA key and log its absence). */
const SSHD_HOST_KEYS = `# kubelab: this node's host keys, made before its first boot and recorded in the cluster's known_hosts.
${NODE_HOST_KEY_TYPES.map((t) => `HostKey /etc/ssh/ssh_host_${t}_key`).join("\n")}
`;

/** What a new node's root is made of: a root filesystem to copy, and trees to hard-link into the copy. */
export interface NodeImage {
  readonly root: string;
  readonly linked?: string;
}

/**
 * provisionNode gives the node its root filesystem when it has none: a copy of the image
 * with its own machine-id and SSH host keys, renamed into place only when complete. Then
 * (every time, so they follow the plan) it writes the per-node files: hostname, hosts,
 * host0's static address, root's authorized_keys and the node label.
 */
export async function provisionNode(
  plan: Plan,
  node: PlanNode,
  image: NodeImage,
  publicKey: string,
  bridge: string,
): Promise<void> {
  const p = nodePaths(plan.name, node.name);
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  if (!(await isDir(p.rootfs))) {
    const tmp = `${p.rootfs}.tmp`;
    await rm(tmp, { recursive: true, force: true });
    // --reflink=auto: instant on btrfs/xfs, a plain copy (1-3 s) elsewhere. Not overlayfs:
    // containerd's overlay snapshotter cannot use an overlayfs upper dir.
    await run("cp", ["-a", "--reflink=auto", image.root, tmp], { timeoutMs: 10 * 60_000 });
    // A baked image's read-only trees: hard links, merged into the copy's (empty) directories.
    if (image.linked) await run("cp", ["-a", "--link", `${image.linked}/.`, `${tmp}/`], { timeoutMs: 10 * 60_000 });
    // The image has an empty machine-id and no host keys: each node its own.
    await put(join(tmp, "etc/machine-id"), `${(await run("systemd-id128", ["new"])).trim()}\n`, 0o444);
    // Ed25519 and ECDSA only: an RSA key takes most of a second of CPU per node to make,
    // and every client kubelab or a user brings speaks one of these two.
    await Promise.all(
      NODE_HOST_KEY_TYPES.map((type) =>
        run("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "", "-f", join(tmp, `etc/ssh/ssh_host_${type}_key`)]),
      ),
    );
    await put(join(tmp, "etc/ssh/sshd_config.d/kubelab-host-keys.conf"), SSHD_HOST_KEYS);
    // The same managed block node preparation keeps up to date (mergeHosts), so a fresh node
    // resolves its peers from the first boot and preparation finds nothing to change.
    const hosts = await readFile(join(tmp, "etc/hosts"), "utf8").catch(() => "");
    await put(join(tmp, "etc/hosts"), mergeHosts(hosts, plan));
    await rename(tmp, p.rootfs);
  }
  const r = p.rootfs;
  await put(join(r, "etc/hostname"), `${node.name}\n`);
  await mkdir(join(r, "etc/systemd/network"), { recursive: true });
  await put(join(r, "etc/systemd/network/10-kubelab-host0.network"), host0Network(plan, node));
  await mkdir(join(r, "root/.ssh"), { recursive: true, mode: 0o700 });
  await chmod(join(r, "root/.ssh"), 0o700);
  await put(join(r, "root/.ssh/authorized_keys"), publicKey.endsWith("\n") ? publicKey : `${publicKey}\n`, 0o600);
  await mkdir(join(r, "etc/kubelab"), { recursive: true });
  const label: NodeLabel = { cluster: plan.name, node: node.name, role: node.role, ip: node.ip };
  await put(p.label, `${JSON.stringify(label, null, 2)}\n`);
  const meta = { machine: machineName(plan.name, node.name), bridge, image: image.root, release: releaseOf(plan) };
  await put(p.meta, `${JSON.stringify(meta, null, 2)}\n`);
}

function releaseOf(plan: Plan): string {
  return plan.provider.name === "nspawn" ? plan.provider.release : "bookworm";
}

async function isDir(path: string): Promise<boolean> {
  try {
    await readFile(join(path, "etc/os-release"));
    return true;
  } catch {
    return false;
  }
}

/**
 * nspawnArgs: every systemd-nspawn option a node runs with, and why.
 */
export function nspawnArgs(plan: Plan, node: PlanNode, bridge: string, mode: HostMode): string[] {
  const p = nodePaths(plan.name, node.name);
  const args = [
    // Boot the image's systemd as PID 1 (networkd, sshd, later containerd and kubelet).
    "--boot",
    `--directory=${p.rootfs}`,
    // Unique on the host; names the host-side veth (vb-…) and is how processes are found.
    `--machine=${machineName(plan.name, node.name)}`,
    `--hostname=${node.name}`,
    // A veth pair: host0 inside (static address via networkd), the other end on the bridge.
    `--network-bridge=${bridge}`,
    // kubelet needs CAP_SYSLOG for /dev/kmsg and much more (it manages cgroups, iptables,
    // mounts): the node gets every capability, as kind's nodes do.
    "--capability=all",
    // nspawn's seccomp filter blocks the keyring calls: runc fails with "unable to join
    // session keyring" without this.
    "--system-call-filter=@keyring",
    // kubelet reads the kernel log (OOM events) and fails without /dev/kmsg.
    "--bind=/dev/kmsg",
    // stdout is a log file, not a terminal: copy the console there, read nothing from us.
    "--console=read-only",
    // The node's journal stays in its rootfs (read by `logs`), never linked into the host's.
    "--link-journal=no",
    // What our SIGTERM to nspawn sends the node's systemd: SIGRTMIN+4 = poweroff.
    "--kill-signal=SIGRTMIN+4",
  ];
  if (mode.systemdInit) {
    // The normal path: systemd-machined puts the node in its own scope, machine-<name>.scope.
    args.push("--register=yes");
  } else {
    // No systemd on the host: no machined to register with, and the node's cgroup is the one
    // nspawn was started from (the launcher joins the node's own cgroups first: cgroups.ts).
    args.push("--register=no", "--keep-unit");
  }
  // No init arguments: trixie's systemd 257 boots in the cgroup v1 hybrid layout nspawn
  // gives it (measured). Its "refuse cgroup v1 unless SYSTEMD_CGROUP_ENABLE_LEGACY_FORCE=1"
  // check does not stop it inside a container.
  return args;
}

/**
 * The launcher: joins the node's cgroups (passed in KUBELAB_CGROUPS) and execs nspawn, so
 * the pid is nspawn's. A failure to join exits 125 before nspawn runs.
 */
const LAUNCHER = `for d in $KUBELAB_CGROUPS; do echo $$ > "$d/cgroup.procs" || exit 125; done
unset KUBELAB_CGROUPS
exec "$@"`;

/** Environment variables that change nspawn's behaviour in ways that break nodes (see docs/nspawn.md). */
const SCRUBBED_ENV = [
  "NOTIFY_SOCKET", // nspawn would report readiness to a service manager that is not ours
  "SYSTEMD_NSPAWN_API_VFS_WRITABLE", // writable /sys: networkd waits for udev forever
  "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY", // cgroup v2 in the node: no controllers, runc fails
  "SYSTEMD_NSPAWN_USE_CGNS", // 0 makes nspawn exit on this host
];

/**
 * launch starts the node's systemd-nspawn detached: its own session (setsid), stdio to the
 * console log, nothing inherited from us, so the node outlives this process. Returns its pid.
 */
export async function launch(plan: Plan, node: PlanNode, bridge: string, mode: HostMode): Promise<number> {
  const p = nodePaths(plan.name, node.name);
  const machine = machineName(plan.name, node.name);
  const cgroups = prepareNodeCgroups(mode, machine);
  const env: NodeJS.ProcessEnv = { ...hostEnv(), KUBELAB_CGROUPS: cgroups.join(" ") };
  for (const k of SCRUBBED_ENV) delete env[k];
  const out = openSync(p.console, "a");
  let pid: number | undefined;
  try {
    writeSync(out, `\n=== kubelab: starting ${machine} at ${new Date().toISOString()} ===\n`);
    const child = spawn(
      "/bin/sh",
      [
        "-c",
        LAUNCHER,
        "kubelab-launch",
        which("systemd-nspawn") ?? "systemd-nspawn",
        ...nspawnArgs(plan, node, bridge, mode),
      ],
      {
        detached: true,
        stdio: ["ignore", out, out],
        env,
      },
    );
    pid = child.pid;
    const failed = new Promise<Error>((resolve) => child.once("error", resolve));
    child.unref();
    if (pid === undefined) throw await failed;
  } finally {
    closeSync(out);
  }
  await writeFile(p.pidFile, `${pid}\n`);
  return pid;
}

/** nspawnPid returns the pid of the node's running systemd-nspawn, or undefined when it is not running. */
export function nspawnPid(cluster: string, node: string): number | undefined {
  const p = nodePaths(cluster, node);
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(p.pidFile, "utf8"), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return isNodeProcess(pid, cluster, node) ? pid : undefined;
}

/** isNodeProcess: the pid is (still) this node's nspawn, not a reused pid. */
function isNodeProcess(pid: number, cluster: string, node: string): boolean {
  const argv = cmdline(pid);
  return argv !== undefined && isNodeArgv(argv, cluster, node) && !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** nspawnProcesses finds every systemd-nspawn on the host running a rootfs under dir (pid files or not). */
export function nspawnProcesses(dir: string): number[] {
  const found: number[] = [];
  for (const e of readdirSyncSafe("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const argv = cmdline(Number(e));
    if (!argv?.some((a) => a.endsWith("systemd-nspawn"))) continue;
    if (argv.some((a) => a.startsWith(`--directory=${dir}/`))) found.push(Number(e));
  }
  return found;
}

function readdirSyncSafe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** children lists a process's direct children (the node's PID 1 is nspawn's child). */
function children(pid: number): number[] {
  const viaProc = (() => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return undefined;
    }
  })();
  if (viaProc) return viaProc;
  return readdirSyncSafe("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const stat = readFileSync(`/proc/${e}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

function alive(pid: number): boolean {
  return cmdline(pid) !== undefined && !isZombie(pid);
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** systemd's poweroff signal: SIGRTMIN+4, with glibc's SIGRTMIN (34) as systemd uses it. */
const SIGRTMIN_4 = 34 + 4;

/**
 * stopMachine powers the node off: SIGRTMIN+4 to its systemd (PID 1 inside, nspawn's
 * child), which systemd treats as `poweroff`; then nspawn exits. If that does not finish in
 * time: SIGKILL to nspawn and to every process left in the node's cgroups.
 */
export async function stopMachine(
  cluster: string,
  node: string,
  pid: number,
  mode: HostMode,
  log: (line: string) => void,
  timeoutMs = 30_000,
): Promise<void> {
  const init = children(pid)[0];
  try {
    if (init !== undefined) process.kill(init, SIGRTMIN_4);
    else process.kill(pid, "SIGTERM"); // nspawn forwards it as --kill-signal (SIGRTMIN+4)
  } catch {}
  if (await waitGone(pid, timeoutMs)) return;
  // A timeout of 0 asks for no clean poweroff at all (the node's state is thrown away next).
  if (timeoutMs > 0) log(`${node}: no clean poweroff within ${timeoutMs / 1000} s, killing it`);
  try {
    process.kill(pid, "SIGKILL");
  } catch {}
  for (const p of await nodeCgroupPids(mode, startedName(cluster, node))) {
    try {
      process.kill(p, "SIGKILL");
    } catch {}
  }
  if (!(await waitGone(pid, 10_000))) throw new Error(`${node}: systemd-nspawn (pid ${pid}) does not exit`);
}

/**
 * killLeftovers clears what a node that died without a clean poweroff leaves behind. When
 * nspawn itself is killed, the node's systemd and services keep running (nothing ties them
 * to nspawn), holding the node's network namespace, its host-side veth and its address: so
 * SIGKILL everything in the node's cgroups and wait until they are empty. Also removes
 * nspawn's propagation directory, which only a clean exit removes.
 */
export async function killLeftovers(cluster: string, node: string, mode: HostMode): Promise<void> {
  const machine = startedName(cluster, node);
  if (mode.systemdInit) {
    // machined owns the node's scope: terminating the machine kills what is left in it.
    await tryRun("machinectl", ["terminate", machine]);
  }
  const deadline = Date.now() + 10_000;
  for (;;) {
    const pids = await nodeCgroupPids(mode, machine);
    if (pids.length === 0) break;
    if (Date.now() > deadline) throw new Error(`${node}: processes ${pids.join(", ")} do not exit`);
    for (const p of pids) {
      try {
        process.kill(p, "SIGKILL");
      } catch {}
    }
    await sleep(100);
  }
  await rm(`/run/systemd/nspawn/propagate/${machine}`, { recursive: true, force: true });
}

/** tail returns the last n lines of a file ("" when there is none), without terminal escapes. */
export async function tail(path: string, n: number): Promise<string> {
  const text = await readFile(path, "utf8").catch(() => "");
  // The node's systemd colours its console status lines: strip the SGR sequences.
  const plain = text.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "");
  return plain.trimEnd().split("\n").slice(-n).join("\n");
}

/**
 * waitForSsh waits until sshd answers on ip:22 (TCP connect and its `SSH-2.0` banner). It
 * fails early when the node's nspawn exits, and at the deadline naming the node and the
 * tail of its console log.
 */
export async function waitForSsh(
  cluster: string,
  node: PlanNode,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const p = nodePaths(cluster, node.name);
  for (;;) {
    signal?.throwIfAborted();
    if (await sshBanner(node.ip, 22, 2000)) return;
    const why =
      nspawnPid(cluster, node.name) === undefined
        ? "its systemd-nspawn exited"
        : Date.now() > deadline
          ? `sshd did not answer on ${node.ip}:22 within ${timeoutMs / 1000} s`
          : undefined;
    if (why) {
      throw new Error(
        `node ${node.name} did not come up: ${why}. Console (${p.console}):\n${await tail(p.console, 30)}`,
      );
    }
    await sleep(250);
  }
}

/** sshBanner connects and resolves true once the server's identification starts with SSH-2.0. */
export function sshBanner(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    let got = "";
    const done = (ok: boolean) => {
      sock.destroy();
      clearTimeout(timer);
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      got += d;
      if (got.startsWith("SSH-2.0")) done(true);
      else if (got.length >= 7) done(false);
    });
    sock.on("error", () => done(false));
    sock.on("close", () => done(false));
  });
}

/**
 * nodeHostKeys reads the public SSH host keys kubelab generated into a node's root (ssh-keygen
 * -A at provisioning): the blobs its sshd will present, known before the node ever boots.
 */
export async function nodeHostKeys(cluster: string, node: string): Promise<Buffer[]> {
  const dir = join(nodePaths(cluster, node).rootfs, "etc/ssh");
  const names = (await readdir(dir).catch(() => [] as string[])).filter((f) => /^ssh_host_\w+_key\.pub$/.test(f));
  const keys: Buffer[] = [];
  for (const f of names.sort()) {
    const [, b64] = (await readFile(join(dir, f), "utf8")).trim().split(/\s+/);
    if (b64) keys.push(Buffer.from(b64, "base64"));
  }
  return keys;
}
