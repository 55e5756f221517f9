/**
 * Node preparation on real nspawn nodes: kubelab, an Ansible playbook doing the same, and
 * "the floor" (the same work as one shell script per node). For each N (1, 3, 6):
 *   (a) N fresh nodes; kubelab's preparation (`up()` on machines that exist, so it only
 *       prepares), then a second, no-op `up()`; the machines are destroyed;
 *   (b) N fresh nodes again; the same preparation as an Ansible playbook
 *       (bench/ansible/prepare.yml, builtin modules, facts gathered, pipelining, forks = N),
 *       then a no-op re-run; the machines are destroyed;
 *   (c) N fresh nodes again; the floor: the playbook's work written out as ONE bash script
 *       per node (bench/floor-script.ts), run over ONE SSH connection per node (plain `ssh`
 *       with the cluster's key), every node at once; the machines are destroyed. No facts,
 *       no checks of what is there, no checksums: what a first run cannot do without, so
 *       kubelab / floor says how close kubelab is to the work itself. First run only: a
 *       no-op floor means nothing ("n/a").
 * Machine creation (and the untimed node setup: Python for Ansible's modules, on every set of
 * machines alike) is measured apart and counted in no figure. All three install from the test
 * package source (test/helpers/packages.ts): kubeadm, kubelet and kubectl from the apt
 * repository served from the host; the release files copied by Ansible, fetched from the
 * host's file server by kubelab and the floor (served decompressed, kubelab's own server; its
 * start and the decompression are inside the floor's figure, as they are inside kubelab's).
 * Every tool writes files rendered by kubelab's renderers, so the nodes are compared byte for
 * byte afterwards: a difference between the floor and kubelab fails the run.
 *
 * Needs root, the nspawn tools (scripts/dev-tools/install-deps.sh) and, for the Ansible side,
 * Debian's ansible-core (apt-get install -y ansible-core). Takes a few minutes with Ansible.
 * Run: npx tsx bench/prepare.ts [--runs R] [--only kubelab,ansible,floor] [N ...]
 *   (figures: the median of R runs, default 1; --only picks the contenders, default all three,
 *   e.g. --only kubelab,floor skips Ansible)
 * BENCH_KEEP=1 keeps the Ansible work directory (logs); BENCH_PROFILE=1 adds per-task times.
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { serveArtifacts } from "../src/artifacts/serve.js";
import { up } from "../src/cluster/up.js";
import { CONTAINERD_UNIT } from "../src/phases/install-containerd.js";
import type { Plan } from "../src/plan/types.js";
import { validateCluster } from "../src/plan/validate.js";
import { nodePaths } from "../src/providers/nspawn/machine.js";
import { nspawnProvider } from "../src/providers/nspawn/provider.js";
import type { ProviderContext } from "../src/providers/types.js";
import type { NodeEnvironment } from "../src/render/node-environment.js";
import { renderModulesLoad, renderNodeFiles } from "../src/render/node-files.js";
import {
  buildTestPackages,
  preparationOptions,
  serveDirectory,
  type TestPackages,
  testPackageSource,
} from "../test/helpers/packages.js";
import { cacheDir } from "../test/helpers/tools.js";
import { floorScript } from "./floor-script.js";
import { cpus, hostCpu } from "./host.js";

const execFileP = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const PLAYBOOK = join(HERE, "ansible", "prepare.yml");
const KUBE_PACKAGES = ["kubeadm", "kubelet", "kubectl"];

const CONTENDERS = ["kubelab", "ansible", "floor"] as const;
type Contender = (typeof CONTENDERS)[number];
const USAGE = `usage: bench/prepare.ts [--runs R] [--only ${CONTENDERS.join(",")}] [N ...]`;
const args = process.argv.slice(2);
const runsAt = args.indexOf("--runs");
const RUNS = runsAt === -1 ? 1 : Number(args.splice(runsAt, 2)[1]);
const onlyAt = args.indexOf("--only");
const only = onlyAt === -1 ? [...CONTENDERS] : (args.splice(onlyAt, 2)[1] ?? "").split(",").filter(Boolean);
const isContender = (c: string): c is Contender => (CONTENDERS as readonly string[]).includes(c);
const ONLY = new Set(only.filter(isContender));
const sizes = args.map(Number);
const SIZES = sizes.length > 0 ? sizes : [1, 3, 6];
if (
  !Number.isInteger(RUNS) ||
  RUNS < 1 ||
  SIZES.some((n) => !Number.isInteger(n) || n < 1 || n > 50) ||
  ONLY.size === 0 ||
  ONLY.size !== only.length
)
  throw new Error(USAGE);

const seconds = (startMs: number) => (performance.now() - startMs) / 1000;
const say = (line: string) => console.error(`[bench] ${line}`);

function benchPlan(n: number): Plan {
  const net = 200 + n;
  const result = validateCluster({
    apiVersion: "kubelab.dev/v1alpha1",
    kind: "Cluster",
    metadata: { name: `bench${n}` },
    provider: { name: "nspawn" },
    nodes: [
      { name: "master-1", role: "control-plane" },
      ...(n > 1 ? [{ name: "worker-{n}", role: "worker", count: n - 1 }] : []),
    ],
    network: { cidr: `10.231.${net}.0/24` },
    // VXLAN: the tunnel every kernel here has (IPIP needs the ipip module, which this one lacks).
    addons: { cni: { encapsulation: "vxlan" }, metallb: { pools: [`10.231.${net}.200-10.231.${net}.210`] } },
  });
  if (!result.ok) throw new Error(JSON.stringify(result));
  return result.plan;
}

// --- cleanup, also on Ctrl-C ---

const cleanups = new Set<() => Promise<void>>();
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    say(`${sig}: removing the machines`);
    void Promise.allSettled([...cleanups].map((c) => c())).then(() => process.exit(130));
  });
}

// --- Python on the nodes: Ansible's modules need python3 (and python3-apt for apt) ---

/**
 * pythonDebs downloads (once, cached) the Debian packages that python3 and python3-apt add to
 * a node, from the host's apt sources: the nodes reach no archive of their own.
 */
async function pythonDebs(nodeRootfs: string): Promise<string[]> {
  const dir = cacheDir("bench", "python-debs");
  const index = join(dir, "index.json");
  if (existsSync(index)) return (JSON.parse(await readFile(index, "utf8")) as string[]).map((f) => join(dir, f));
  say("downloading python3 and python3-apt packages for the nodes (once)");
  const sim = await execFileP("apt-get", [
    "-s",
    "-o",
    `Dir::State::status=${join(nodeRootfs, "var/lib/dpkg/status")}`,
    "install",
    "--no-install-recommends",
    "python3",
    "python3-apt",
  ]);
  const wanted = [...sim.stdout.matchAll(/^Inst (\S+) (?:\[\S+\] )?\((\S+) /gm)].map((m) => `${m[1]}=${m[2]}`);
  if (wanted.length === 0) throw new Error(`apt-get -s found nothing to install:\n${sim.stdout}`);
  await mkdir(dirname(dir), { recursive: true });
  const tmp = await mkdtemp(`${dir}.tmp-`);
  try {
    await execFileP("apt-get", ["download", ...wanted], { cwd: tmp });
    const files = (await readdir(tmp)).filter((f) => f.endsWith(".deb")).sort();
    await writeFile(join(tmp, "index.json"), JSON.stringify(files));
    await rename(tmp, dir);
    return files.map((f) => join(dir, f));
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

function sshArgs(clusterDir: string, ip: string): string[] {
  return [
    "-i",
    join(clusterDir, "id_ed25519"),
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    `root@${ip}`,
  ];
}

/** installPython puts python3 and python3-apt on every node (the same on kubelab's machines). */
async function installPython(plan: Plan, clusterDir: string): Promise<void> {
  const first = plan.nodes[0];
  if (!first) throw new Error("no nodes");
  const debs = await pythonDebs(nodePaths(plan.name, first.name).rootfs);
  await Promise.all(
    plan.nodes.map(async (n) => {
      const dest = join(nodePaths(plan.name, n.name).rootfs, "var/cache/kubelab-bench");
      await mkdir(dest, { recursive: true });
      for (const d of debs) await copyFile(d, join(dest, d.slice(d.lastIndexOf("/") + 1)));
      await execFileP(
        "ssh",
        [
          ...sshArgs(clusterDir, n.ip),
          // The node's own sources are left out: it reaches no archive (apt would wait on it).
          "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o Dir::Etc::sourcelist=/dev/null -o Dir::Etc::sourceparts=- /var/cache/kubelab-bench/*.deb >/dev/null 2>&1 && rm -rf /var/cache/kubelab-bench",
        ],
        { timeout: 300_000 },
      );
    }),
  );
}

// --- machines ---

interface Machines {
  readonly plan: Plan;
  readonly ctx: ProviderContext;
  readonly aptUrl: string;
  readonly createS: number;
  readonly setupS: number;
}

/** withMachines creates the plan's nodes and serves the apt repository; ALWAYS removes both. */
async function withMachines<T>(plan: Plan, pkgs: TestPackages, fn: (m: Machines) => Promise<T>): Promise<T> {
  const clusterDir = await mkdtemp(join(tmpdir(), `kubelab-${plan.name}-`));
  const log: string[] = [];
  const ctx: ProviderContext = { clusterDir, log: (l) => log.push(l) };
  let closeServer: (() => Promise<void>) | undefined;
  const cleanup = async () => {
    const close = closeServer;
    closeServer = undefined;
    await close?.();
    try {
      await nspawnProvider.destroy(plan, ctx);
    } finally {
      await rm(clusterDir, { recursive: true, force: true });
    }
  };
  cleanups.add(cleanup);
  try {
    let t = performance.now();
    await nspawnProvider.create(plan, ctx);
    const createS = seconds(t);
    t = performance.now();
    await installPython(plan, clusterDir);
    const setupS = seconds(t);
    const served = await serveDirectory(pkgs.aptDir, plan.network.gateway);
    closeServer = served.close;
    return await fn({ plan, ctx, aptUrl: served.url, createS, setupS });
  } catch (e) {
    say(`provider log of ${plan.name}:\n${log.slice(-20).join("\n")}`);
    throw e;
  } finally {
    cleanups.delete(cleanup);
    await cleanup();
  }
}

// --- what the nodes hold afterwards, to compare both tools' results ---

const FILES = [
  "/etc/hostname",
  "/etc/hosts",
  "/etc/fstab",
  "/etc/modules-load.d/kubelab.conf",
  "/etc/sysctl.d/99-kubelab.conf",
  "/etc/containerd/config.toml",
  "/etc/default/kubelet",
  "/etc/kubernetes/kubeadm/kubeadm-init.yaml",
  "/etc/kubernetes/kubeadm/kubeadm-join.yaml",
  "/etc/systemd/system/containerd.service",
  "/etc/apt/sources.list.d/kubernetes.list",
  "/usr/local/bin/containerd",
  "/usr/local/bin/containerd-shim-runc-v2",
  "/usr/local/bin/ctr",
  "/usr/local/sbin/runc",
  "/usr/bin/kubeadm",
  "/usr/bin/kubelet",
  "/usr/bin/kubectl",
];

/** snapshot: path -> sha256 of every managed file on every node (the repository's port masked). */
async function snapshot(m: Machines): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const n of m.plan.nodes) {
    const root = nodePaths(m.plan.name, n.name).rootfs;
    for (const f of FILES) {
      const data = await readFile(join(root, f)).catch(() => undefined);
      const text = data && f.endsWith(".list") ? Buffer.from(data.toString().replace(m.aptUrl, "<repo>")) : data;
      out.set(`${n.name}:${f}`, text ? createHash("sha256").update(text).digest("hex").slice(0, 12) : "absent");
    }
    const cni = await readdir(join(root, "opt/cni/bin")).catch(() => []);
    out.set(`${n.name}:/opt/cni/bin/`, cni.sort().join(","));
    const { stdout } = await execFileP("ssh", [
      ...sshArgs(m.ctx.clusterDir, n.ip),
      "systemctl is-active containerd; systemctl is-enabled containerd; apt-mark showhold; sysctl -n net.ipv4.ip_forward; hostname",
    ]).catch((e: { stdout?: string }) => ({ stdout: `error: ${e.stdout ?? ""}` }));
    out.set(`${n.name}:state`, stdout.trim().replaceAll("\n", " "));
  }
  return out;
}

/** What the nodes are, for the renderers: nspawn containers, on this host's cgroup hierarchy. */
function benchNodeEnvironment(): NodeEnvironment {
  return { ...nspawnProvider.nodeEnvironment, cgroupV1: !existsSync("/sys/fs/cgroup/cgroup.controllers") };
}

// --- kubelab ---

interface Timed {
  /** Where the first run went (kubelab: seconds per phase; every side: host CPU), one line. */
  readonly detail?: string;
  readonly first: number;
  /** The no-op re-run; none for the floor (a floor does not look before it writes). */
  readonly noop?: number;
  /** What the first run changed (kubelab's changes, Ansible's changed tasks); none for the floor. */
  readonly changes?: number;
  /** The host's CPU time spent busy during the first run (every process, the nodes' too), in seconds. */
  readonly hostBusyS: number;
  /** kubelab only: its own process's CPU time during the first run, in seconds. */
  readonly ownS?: number;
  readonly createS: number;
  readonly setupS: number;
  readonly snapshot: Map<string, string>;
}

async function benchKubelab(plan: Plan, pkgs: TestPackages): Promise<Timed> {
  return withMachines(plan, pkgs, async (m) => {
    const { lines, ...opts } = preparationOptions(pkgs, m.aptUrl, m.ctx.clusterDir);
    const phases: string[] = [];
    let phaseStart = 0;
    let phaseTitle = "";
    const timing = {
      start(title: string) {
        phaseTitle = title;
        phaseStart = performance.now();
      },
      end() {
        phases.push(`${phaseTitle} ${seconds(phaseStart).toFixed(2)}`);
      },
    };
    let t = performance.now();
    const cpu0 = hostCpu();
    const own0 = process.cpuUsage();
    const first = await up(plan, { ...opts, status: timing });
    const firstS = seconds(t);
    const busy = hostCpu().busy - cpu0.busy;
    const own = process.cpuUsage(own0);
    const ownS = (own.user + own.system) / 1e6;
    t = performance.now();
    const second = await up(plan, opts);
    const noopS = seconds(t);
    if (second.changes.length > 0)
      throw new Error(`kubelab's second up changed ${JSON.stringify(second.changes)}:\n${lines.join("\n")}`);
    return {
      detail: `${phases.join(", ")}; host CPU busy ${busy.toFixed(1)} s of ${(firstS * cpus()).toFixed(1)} s (${cpus()} cores x wall), of which kubelab's own process ${ownS.toFixed(1)} s`,
      first: firstS,
      noop: noopS,
      changes: first.changes.length,
      hostBusyS: busy,
      ownS,
      createS: m.createS,
      setupS: m.setupS,
      snapshot: await snapshot(m),
    };
  });
}

// --- Ansible ---

/** ansibleWorkDir writes the inventory, configuration, variables and files the playbook uses. */
async function ansibleWorkDir(m: Machines, pkgs: TestPackages, work: string): Promise<void> {
  const { plan } = m;
  const forks = plan.nodes.length;
  await writeFile(
    join(work, "ansible.cfg"),
    [
      "[defaults]",
      `forks = ${forks}`,
      "host_key_checking = False",
      "interpreter_python = /usr/bin/python3",
      "nocolor = True",
      // Per-task times in the logs (needs Debian's ansible, not only ansible-core); off for figures.
      ...(process.env.BENCH_PROFILE ? ["callbacks_enabled = ansible.posix.profile_tasks"] : []),
      "",
      "[ssh_connection]",
      "pipelining = True",
      `control_path_dir = ${join(work, "cp")}`,
      "",
    ].join("\n"),
  );
  await writeFile(
    join(work, "inventory.ini"),
    [
      "[nodes]",
      ...plan.nodes.map((n) => `${n.name} ansible_host=${n.ip}`),
      "",
      "[nodes:vars]",
      "ansible_user=root",
      `ansible_ssh_private_key_file=${join(m.ctx.clusterDir, "id_ed25519")}`,
      "ansible_ssh_common_args='-o UserKnownHostsFile=/dev/null'",
      "",
    ].join("\n"),
  );
  const files = join(work, "files");
  await mkdir(join(work, "host_vars"), { recursive: true });
  for (const n of plan.nodes) {
    let kubeadmConfig = "";
    for (const f of renderNodeFiles(plan, n.name, benchNodeEnvironment())) {
      await mkdir(dirname(join(files, n.name, f.path)), { recursive: true });
      await writeFile(join(files, n.name, f.path), f.content);
      if (f.path.startsWith("/etc/kubernetes/kubeadm/")) kubeadmConfig = f.path;
    }
    await writeFile(join(work, "host_vars", `${n.name}.json`), JSON.stringify({ kubeadm_config: kubeadmConfig }));
  }
  await writeFile(join(files, "containerd.service"), CONTAINERD_UNIT);
  const artifacts = join(work, "artifacts");
  await mkdir(artifacts);
  const f = pkgs.files;
  await copyFile(join(pkgs.dir, "artifacts", f.containerd.sha256), join(artifacts, "containerd.tar.gz"));
  await copyFile(join(pkgs.dir, "artifacts", f.cniPlugins.sha256), join(artifacts, "cni-plugins.tgz"));
  await copyFile(join(pkgs.dir, "artifacts", f.runc.sha256), join(artifacts, "runc"));
  const modules = renderModulesLoad(plan)
    .content.split("\n")
    .filter((l) => l && !l.startsWith("#"));
  await writeFile(
    join(work, "vars.json"),
    JSON.stringify({
      cluster_name: plan.name,
      hosts_block: plan.nodes.map((n) => `${n.ip} ${n.name}`).join("\n"),
      kernel_modules: modules,
      kube_repo_url: m.aptUrl,
      kube_version: plan.kubernetes.packageVersion,
      kube_packages: KUBE_PACKAGES,
      systemd_cgroup: plan.containerd.cgroupDriver === "systemd",
      files_dir: files,
      artifacts_dir: artifacts,
    }),
  );
}

/** runPlaybook runs ansible-playbook, its output to a log file; returns the recap's changed count. */
async function runPlaybook(work: string, logName: string): Promise<number> {
  const logPath = join(work, logName);
  const code = await new Promise<number>((resolvePromise, reject) => {
    const child = spawn(
      "ansible-playbook",
      ["-i", join(work, "inventory.ini"), "-e", `@${join(work, "vars.json")}`, PLAYBOOK],
      {
        cwd: work,
        env: { ...process.env, ANSIBLE_CONFIG: join(work, "ansible.cfg") },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const chunks: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => chunks.push(d));
    child.stderr.on("data", (d: Buffer) => chunks.push(d));
    child.on("error", reject);
    child.on("close", (c) => {
      writeFile(logPath, Buffer.concat(chunks)).then(() => resolvePromise(c ?? 1), reject);
    });
  });
  const log = await readFile(logPath, "utf8");
  const recap = [...log.matchAll(/changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/g)];
  const bad = recap.some((r) => r[2] !== "0" || r[3] !== "0");
  if (code !== 0 || recap.length === 0 || bad)
    throw new Error(`ansible-playbook failed (exit ${code}), log ${logPath}:\n${log.slice(-3000)}`);
  return recap.reduce((sum, r) => sum + Number(r[1]), 0);
}

/** closeControlMasters ends the SSH masters Ansible left (ControlPersist) before their machines go. */
async function closeControlMasters(dir: string): Promise<void> {
  const sockets = await readdir(dir).catch(() => []);
  await Promise.all(
    sockets.map((s) => execFileP("ssh", ["-o", `ControlPath=${join(dir, s)}`, "-O", "exit", "node"]).catch(() => {})),
  );
}

async function benchAnsible(plan: Plan, pkgs: TestPackages): Promise<Timed> {
  const work = await mkdtemp(join(tmpdir(), `kubelab-bench-ansible-${plan.name}-`));
  let keep = false;
  try {
    return await withMachines(plan, pkgs, async (m) => {
      await ansibleWorkDir(m, pkgs, work);
      try {
        let t = performance.now();
        const cpu0 = hostCpu();
        const changes = await runPlaybook(work, "first.log");
        const firstS = seconds(t);
        const busy = hostCpu().busy - cpu0.busy;
        t = performance.now();
        const again = await runPlaybook(work, "noop.log");
        const noopS = seconds(t);
        if (again !== 0) throw new Error(`the playbook's second run changed ${again} things (log ${work}/noop.log)`);
        return {
          detail: `host CPU busy ${busy.toFixed(1)} s of ${(firstS * cpus()).toFixed(1)} s (${cpus()} cores x wall)`,
          first: firstS,
          noop: noopS,
          changes,
          hostBusyS: busy,
          createS: m.createS,
          setupS: m.setupS,
          snapshot: await snapshot(m),
        };
      } finally {
        await closeControlMasters(join(work, "cp"));
      }
    });
  } catch (e) {
    keep = true;
    say(`keeping the Ansible work directory ${work}`);
    throw e;
  } finally {
    if (process.env.BENCH_KEEP) say(`Ansible work directory and logs: ${work}`);
    else if (!keep) await rm(work, { recursive: true, force: true });
  }
}

// --- the floor ---

/** runNodeScript runs one script on a node over one SSH connection (`bash -s`, the script on stdin). */
function runNodeScript(clusterDir: string, ip: string, script: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn("ssh", [...sshArgs(clusterDir, ip), "bash", "-s"], { stdio: ["pipe", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => chunks.push(d));
    child.stderr.on("data", (d: Buffer) => chunks.push(d));
    const timer = setTimeout(() => child.kill(), 600_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolvePromise();
      const out = Buffer.concat(chunks).toString().slice(-3000);
      reject(new Error(`the floor script failed on ${ip} (${signal ?? `exit ${code}`}):\n${out}`));
    });
    child.stdin.end(script);
  });
}

async function benchFloor(plan: Plan, pkgs: TestPackages): Promise<Timed> {
  return withMachines(plan, pkgs, async (m) => {
    const env = benchNodeEnvironment();
    const t = performance.now();
    const cpu0 = hostCpu();
    // kubelab's own file server on the lab's gateway, the release tarballs decompressed once
    // here (as kubelab serves them): the nodes' tar only unpacks. Counted in the figure.
    const server = await serveArtifacts(testPackageSource(pkgs, m.aptUrl).artifacts, plan.network.gateway);
    const perNode: string[] = [];
    try {
      const f = pkgs.files;
      const [containerd, cniPlugins, runc] = await Promise.all([
        server.offer(f.containerd, { gunzip: true }),
        server.offer(f.cniPlugins, { gunzip: true }),
        server.offer(f.runc),
      ]);
      const release = { containerd: containerd.url, cniPlugins: cniPlugins.url, runc: runc.url };
      await Promise.all(
        plan.nodes.map(async (n) => {
          const start = performance.now();
          await runNodeScript(m.ctx.clusterDir, n.ip, floorScript(plan, n.name, { env, aptUrl: m.aptUrl, release }));
          perNode.push(`${n.name} ${seconds(start).toFixed(2)}`);
        }),
      );
    } finally {
      await server.close();
    }
    const firstS = seconds(t);
    const busy = hostCpu().busy - cpu0.busy;
    return {
      detail: `per node ${perNode.join(", ")}; host CPU busy ${busy.toFixed(1)} s of ${(firstS * cpus()).toFixed(1)} s (${cpus()} cores x wall)`,
      first: firstS,
      hostBusyS: busy,
      createS: m.createS,
      setupS: m.setupS,
      snapshot: await snapshot(m),
    };
  });
}

// --- main ---

async function requireTool(cmd: string, hint: string): Promise<void> {
  try {
    await execFileP(cmd, ["--version"]);
  } catch {
    throw new Error(`${cmd} not found: ${hint}`);
  }
}

const median = (xs: readonly number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const load = () => `load ${loadavg()[0]?.toFixed(1)}`;

const BENCHES: Record<Contender, (plan: Plan, pkgs: TestPackages) => Promise<Timed>> = {
  kubelab: benchKubelab,
  ansible: benchAnsible,
  floor: benchFloor,
};

/** differences lists the snapshot entries (node:path) where two contenders left different nodes. */
function differences(a: Map<string, string>, b: Map<string, string>): string[] {
  return [...new Set([...a.keys(), ...b.keys()])].filter((key) => a.get(key) !== b.get(key));
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("bench/prepare.ts boots nspawn nodes: run it as root");
  await requireTool("systemd-nspawn", "run scripts/dev-tools/install-deps.sh");
  let tools = "";
  if (ONLY.has("ansible")) {
    await requireTool("ansible-playbook", "apt-get install -y ansible-core (or leave it out: --only kubelab,floor)");
    const { stdout: ansibleVersion } = await execFileP("ansible-playbook", ["--version"]);
    tools = `; ${ansibleVersion.split("\n")[0]}; playbook ${resolve(PLAYBOOK)}`;
  }
  const contenders = CONTENDERS.filter((c) => ONLY.has(c));
  say(`${contenders.join(", ")}${tools}; ${RUNS} run(s) per N`);
  const rows: { n: number; t: Record<Contender, Timed[]> }[] = [];
  for (const n of SIZES) {
    const plan = benchPlan(n);
    const pkgs = await buildTestPackages(plan);
    const row = { n, t: { kubelab: [], ansible: [], floor: [] } as Record<Contender, Timed[]> };
    for (let run = 1; run <= RUNS; run++) {
      const tag = `N=${n} run ${run}/${RUNS}`;
      const got: Partial<Record<Contender, Timed>> = {};
      for (const c of contenders) {
        say(`${tag}: ${c} (${load()})`);
        const r = await BENCHES[c](plan, pkgs);
        const changed = r.changes === undefined ? "" : ` (${r.changes} ${c === "ansible" ? "changed" : "changes"})`;
        const noop = r.noop === undefined ? "" : `, no-op ${r.noop.toFixed(2)} s`;
        say(
          `${tag}: ${c} first ${r.first.toFixed(2)} s${changed}${noop}; machines ${r.createS.toFixed(1)} s + setup ${r.setupS.toFixed(1)} s (${load()})`,
        );
        if (r.detail) say(`${tag}: ${c}: ${r.detail}`);
        got[c] = r;
        row.t[c].push(r);
      }
      const { kubelab: k, ansible: a, floor: fl } = got;
      if (k && a) {
        const differ = differences(k.snapshot, a.snapshot);
        say(
          differ.length === 0
            ? `${tag}: kubelab and ansible left identical files and state on every node`
            : `${tag}: the nodes differ in ${differ.map((d) => `${d} (kubelab ${k.snapshot.get(d)}, ansible ${a.snapshot.get(d)})`).join("; ")}`,
        );
      }
      if (fl) {
        // The floor is only a floor if it did all the work: compared with kubelab's nodes
        // (Ansible's when kubelab was left out), and a difference stops the bench.
        const [refName, ref] = k ? ["kubelab", k] : a ? ["ansible", a] : [];
        if (!ref) say(`${tag}: the floor ran alone: its nodes are compared with nothing`);
        else {
          const differ = differences(ref.snapshot, fl.snapshot);
          if (differ.length > 0)
            throw new Error(
              `${tag}: the floor left the nodes different from ${refName}'s: ${differ.map((d) => `${d} (${refName} ${ref.snapshot.get(d)}, floor ${fl.snapshot.get(d)})`).join("; ")}`,
            );
          say(`${tag}: the floor left the same files and state as ${refName} on every node`);
        }
      }
    }
    rows.push(row);
  }
  const f = (s: number | undefined) => (s === undefined ? "-" : `${s.toFixed(2)} s`);
  const x = (a: number | undefined, b: number | undefined, digits = 1) =>
    a === undefined || b === undefined ? "-" : `${(a / b).toFixed(digits)}x`;
  const med = (ts: Timed[], key: "first" | "noop" | "hostBusyS" | "ownS") => {
    const xs = ts.map((t) => t[key]).filter((v): v is number => v !== undefined);
    return xs.length === 0 ? undefined : median(xs);
  };
  console.log(`median of ${RUNS} run(s) per cell; machine creation is counted in no figure; - : not run`);
  console.log(
    "| N | machines (not counted) | kubelab first | kubelab no-op | ansible first | ansible no-op | floor first | floor no-op | first: kubelab/floor | first: ansible/floor | first: ansible/kubelab | no-op: ansible/kubelab |",
  );
  console.log("| - | - | - | - | - | - | - | - | - | - | - | - |");
  const summary = rows.map(({ n, t }) => ({
    n,
    kFirst: med(t.kubelab, "first"),
    kNoop: med(t.kubelab, "noop"),
    kBusy: med(t.kubelab, "hostBusyS"),
    kOwn: med(t.kubelab, "ownS"),
    aFirst: med(t.ansible, "first"),
    aNoop: med(t.ansible, "noop"),
    aBusy: med(t.ansible, "hostBusyS"),
    fFirst: med(t.floor, "first"),
    fBusy: med(t.floor, "hostBusyS"),
    create: median([...t.kubelab, ...t.ansible, ...t.floor].map((r) => r.createS)),
  }));
  for (const r of summary) {
    const fNoop = r.fFirst === undefined ? "-" : "n/a";
    console.log(
      `| ${r.n} | ${f(r.create)} | ${f(r.kFirst)} | ${f(r.kNoop)} | ${f(r.aFirst)} | ${f(r.aNoop)} | ${f(r.fFirst)} | ${fNoop} | ${x(r.kFirst, r.fFirst, 2)} | ${x(r.aFirst, r.fFirst)} | ${x(r.aFirst, r.kFirst)} | ${x(r.aNoop, r.kNoop)} |`,
    );
  }
  for (const r of summary) {
    const cpu = [
      r.kBusy === undefined ? "" : `kubelab ${f(r.kBusy)} (its own process ${f(r.kOwn)})`,
      r.aBusy === undefined ? "" : `ansible ${f(r.aBusy)}`,
      r.fBusy === undefined ? "" : `floor ${f(r.fBusy)}`,
    ].filter(Boolean);
    console.log(`N=${r.n}: host CPU busy during the first run (${cpus()} cores): ${cpu.join(", ")}`);
    if (r.kFirst !== undefined && r.fFirst !== undefined)
      console.log(
        `N=${r.n}: kubelab takes ${x(r.kFirst, r.fFirst, 2)} the floor's time (${f(r.kFirst - r.fFirst)} above the work itself)`,
      );
    if (r.kFirst !== undefined && r.aFirst !== undefined)
      console.log(
        `N=${r.n}: first run ${x(r.aFirst, r.kFirst)} (goal >= 5x), no-op ${x(r.aNoop, r.kNoop)} (goal >= 20x)`,
      );
  }
  const one = summary.find((r) => r.n === 1);
  const six = summary.find((r) => r.n === 6);
  if (one?.kFirst !== undefined && six?.kFirst !== undefined)
    console.log(
      `kubelab 6 nodes / 1 node: first run ${x(six.kFirst, one.kFirst, 2)} (goal < 1.5x), no-op ${x(six.kNoop, one.kNoop, 2)}`,
    );
  if (one?.fFirst !== undefined && six?.fFirst !== undefined)
    console.log(`the floor 6 nodes / 1 node: ${x(six.fFirst, one.fFirst, 2)} (what this host allows the work itself)`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 1;
});
