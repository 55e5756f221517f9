/**
 * Time to a working cluster: `up()` from nothing to every node Ready, on 1 control plane +
 * N workers (default 2) as nspawn nodes, offline, from an offline bundle made once beforehand
 * (warm caches: node image, bundle). Split by phase: machine creation, each preparation and
 * cluster phase, the wait for registration; then the pod network until all nodes are Ready,
 * in three variants:
 * - `bridge`: no addons, then the tests' bridge CNI (test/helpers/test-cni.ts);
 * - `calico`: the lab's Calico (VXLAN, its images built here: scripts/dev-tools/calico-images.sh)
 *   applied by `up` itself, until every node and every calico-node pod is Ready;
 * - `linkerd`: Calico, then Linkerd (its images built here: scripts/dev-tools/linkerd-images.sh);
 *   its steps' times are the time from a cluster without Linkerd to its control plane Ready
 *   and injecting.
 *
 * Two ways to make the nodes, side by side in one pass on the same machine:
 * - `base`: every node a copy of the base node image, prepared and its images imported by `up`
 *   (the nspawn provider with baked images off: what `up` did before `kubelab image bake`);
 * - `baked`: every node a copy of a baked node image (`bakeNodeImage`: preparation done, every
 *   image in containerd), made once before the runs from the same bundle into a directory of
 *   the bench's own ($KUBELAB_BAKED_DIR, so the user's cache is neither read nor changed) and
 *   removed at the end. The bake is timed and printed, and not counted in time to Ready.
 * Both run in every pass of the bridge variant (`--baked`: every variant; `--no-baked`: base
 * only, as before), in alternating order from run to run, so that drift on the host falls on
 * both alike; the figures are the medians of each, and the ratio of their medians.
 *
 * For every timed run, from the start of `up` to every node Ready: kubelab's own CPU time
 * (user + system, also per node), the host's CPU time busy (every process, the nodes' too,
 * against cores x wall), kubelab's peak resident memory during the run (sampled every 100 ms;
 * the process's lifetime peak, maxRSS, beside it) and the host's memory in use at its peak,
 * as growth over the run's start (the nodes' processes are the host's). Then, on the bridge
 * variant's Ready cluster: a no-op `up()` with the same options (it must change nothing: the
 * bench fails otherwise) and `kubelab doctor` on it, through the CLI in-process with the
 * cluster file written beside the cluster directory.
 *
 * Needs root and what the end-to-end tests need (scripts/dev-tools/install-deps.sh), and for
 * the calico and linkerd variants their images (npm run test:lab builds them first).
 * Run: npx tsx bench/cluster.ts [--runs R] [--variant bridge|calico|linkerd|full|all] [--workers N]
 *                               [--baked | --no-baked]
 *      (figures: the median of R runs, default 1; bridge and calico by default)
 */
import { statSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { bundleSources } from "../src/addons/sources.js";
import { bundleSource, readBundle } from "../src/artifacts/offline-bundle.js";
import { bakeNodeImage } from "../src/cluster/bake-node-image.js";
import { type UpOptions, up } from "../src/cluster/up.js";
import type { CheckResult } from "../src/doctor/types.js";
import { kubeConfig, listNodes, poll, waitNodes } from "../src/kube/client.js";
import type { Status } from "../src/phases/phase.js";
import { clusterDir, clusterPaths } from "../src/plan/cluster-dir.js";
import type { Plan } from "../src/plan/types.js";
import { bakedImageRoot, forgetBakedImage } from "../src/providers/nspawn/baked-images.js";
import { run } from "../src/providers/nspawn/host.js";
import { imageDir } from "../src/providers/nspawn/image.js";
import { createNspawnProvider } from "../src/providers/nspawn/provider.js";
import type { MachineProvider } from "../src/providers/types.js";
import { connectAll, hostKeyPolicy } from "../src/remote/connect-all.js";
import { createTestBundle } from "../test/helpers/bundle.js";
import { kubelab } from "../test/helpers/cli.js";
import { NO_ADDONS, nspawnTestCluster } from "../test/helpers/nspawn.js";
import { installTestCni } from "../test/helpers/test-cni.js";
import { cpus, hostCpu, type MemoryPeaks, sampleMemory } from "./host.js";

const args = process.argv.slice(2);
const usage =
  "usage: bench/cluster.ts [--runs R] [--variant bridge|calico|linkerd|full|all] [--workers N] [--baked | --no-baked] [--journaled-fs]";
const VALUED = ["--runs", "--variant", "--workers"];
const FLAGS = ["--baked", "--no-baked", "--journaled-fs"];
for (let i = 0; i < args.length; i++) {
  const a = args[i] as string;
  if (VALUED.includes(a)) i++;
  else if (!FLAGS.includes(a)) throw new Error(`unknown argument ${a}\n${usage}`);
}
const option = (name: string) => {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
};
const RUNS = Number(option("--runs") ?? 1);
const WORKERS = Number(option("--workers") ?? 2);
const CHOICE = option("--variant") ?? "default";
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(usage);
// The test network is a /24 with room for far more, but a lab beyond this is not a laptop's.
if (!Number.isInteger(WORKERS) || WORKERS < 0 || WORKERS > 20) throw new Error(usage);
if (args.includes("--baked") && args.includes("--no-baked")) throw new Error(usage);

type Variant = "bridge" | "calico" | "linkerd" | "full";
const CHOICES: Record<string, Variant[]> = {
  default: ["bridge", "calico"],
  all: ["bridge", "calico", "linkerd", "full"],
  bridge: ["bridge"],
  calico: ["calico"],
  linkerd: ["linkerd"],
  full: ["full"],
};
const VARIANTS = CHOICES[CHOICE];
if (!VARIANTS) throw new Error(usage);

/** Whether a variant's pass also times nodes made from a baked node image. */
const bakedFor = (v: Variant) =>
  args.includes("--baked") ? true : args.includes("--no-baked") ? false : v === "bridge";

type Approach = "base" | "baked";
/** The same provider both ways, but for where new nodes come from. */
const PROVIDERS: Record<Approach, MachineProvider> = {
  base: createNspawnProvider({ bakedImages: false }),
  baked: createNspawnProvider(),
};
const APPROACH_TITLE: Record<Approach, string> = { base: "base image", baked: "baked node image" };
/** What the provider logs when it makes new nodes from a baked image: which way a run went. */
const FROM_BAKED = /new nodes come from the baked node image/;

const CALICO = { cni: { plugin: "calico", encapsulation: "vxlan" } };
/**
 * The addons of each variant: none (the bridge CNI comes after up), Calico alone, with
 * Linkerd, or the default lab's (`full`: Calico, MetalLB, Headlamp, Linkerd; the test
 * cluster's defaults, VXLAN and a MetalLB pool on its own network).
 */
const ADDONS: Record<Variant, Record<string, unknown> | undefined> = {
  bridge: NO_ADDONS,
  calico: { ...NO_ADDONS, ...CALICO },
  linkerd: { ...NO_ADDONS, ...CALICO, linkerd: { enabled: true } },
  full: undefined,
};
/** The status titles of Linkerd's steps: from a cluster without it to its control plane injecting. */
const LINKERD_STEPS = /^(Gateway API .* CRDs|Linkerd .* (CRDs|control plane))$/;
/** A fresh cluster of the variant: a name and a test network of its own each time. */
const clusterFor = (v: Variant) => nspawnTestCluster("bench", { workers: WORKERS }, { addons: ADDONS[v] });
const SHAPE = `1 control plane + ${WORKERS} worker${WORKERS === 1 ? "" : "s"}`;

const say = (line: string) => console.error(`[bench] ${line}`);
const seconds = (start: number) => (performance.now() - start) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const quiet: Status = { start() {}, end() {} };
const f2 = (x: number) => x.toFixed(2);
const f1 = (x: number) => x.toFixed(1);
const mib = (x: number) => `${x.toFixed(0)} MiB`;

const cleanups: (() => Promise<unknown>)[] = [];
const shim = {
  after: (fn: () => unknown) => void cleanups.push(async () => fn()),
  skip: (why?: string) => {
    throw new Error(`cannot run: ${why}`);
  },
};

/** Every calico-node pod Ready, one on each node. */
async function calicoNodeReady(kc: KubeConfig, plan: Plan): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await poll(
    "calico-node Ready on every node",
    async () => {
      const pods = (await core.listNamespacedPod({ namespace: "kube-system", labelSelector: "k8s-app=calico-node" }))
        .items;
      const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
      return ready.length === plan.nodes.length
        ? { done: true, value: undefined }
        : { done: false, pending: `${ready.length} of ${plan.nodes.length}` };
    },
    { timeoutMs: 300_000, intervalMs: 250 },
  );
}

/** phaseTimer is a status that keeps each step's seconds by title (a title seen twice: their sum). */
function phaseTimer(): { phases: Map<string, number>; status: Status } {
  const phases = new Map<string, number>();
  let title = "";
  let started = 0;
  const status: Status = {
    start(t: string) {
      title = t;
      started = performance.now();
    },
    end() {
      phases.set(title, (phases.get(title) ?? 0) + seconds(started));
    },
  };
  return { phases, status };
}

/** One timed run: from nothing to every node Ready, and what it cost. */
interface Run {
  readonly total: number;
  readonly phases: Map<string, number>;
  /** kubelab's own process, user + system, seconds. */
  readonly ownCpu: number;
  /** The host's CPU time busy during the run, and cores x wall. */
  readonly hostBusy: number;
  readonly hostCapacity: number;
  /** Peaks in MiB: kubelab's sampled RSS, its lifetime maxRSS, the host's memory growth. */
  readonly rss: number;
  readonly maxRss: number;
  readonly hostMem: number;
  /** After Ready: the no-op up and `kubelab doctor`. */
  readonly after?: { readonly noop: number; readonly doctor: number; readonly doctorCode: number; failed: string[] };
}

/** afterReady times a no-op up (which must change nothing) and `kubelab doctor` on the Ready cluster. */
async function afterReady(plan: Plan, opts: UpOptions, file: string, approach: Approach): Promise<Run["after"]> {
  const t = performance.now();
  const again = await up(plan, { ...opts, status: quiet });
  const noop = seconds(t);
  if (again.changes.length > 0)
    throw new Error(
      `the no-op up (${approach}) changed ${again.changes.length} things, expected none: ${JSON.stringify(again.changes)}`,
    );
  const d = performance.now();
  const r = await kubelab("doctor", "-f", file, "-o", "json");
  const doctor = seconds(d);
  // Exit 1 is a failing check, a finding about the lab to print; anything else is doctor not working.
  if (r.code !== 0 && r.code !== 1) throw new Error(`kubelab doctor exited ${r.code}:\n${r.out}\n${r.err}`);
  const results = (JSON.parse(r.out) as { results: CheckResult[] }).results;
  return { noop, doctor, doctorCode: r.code, failed: results.filter((c) => c.verdict === "fail").map((c) => c.id) };
}

async function once(variant: Variant, approach: Approach, bundleDir: string, work: string): Promise<Run> {
  const { raw, plan } = clusterFor(variant);
  const provider = PROVIDERS[approach];
  // The cluster file beside its directory, where `kubelab doctor -f` looks for it.
  const dir = await mkdtemp(join(work, "cluster-"));
  const file = join(dir, "kubelab.yaml");
  await writeFile(file, stringify(raw));
  const cdir = clusterDir(plan, file);
  await mkdir(cdir, { recursive: true, mode: 0o700 });
  const { phases, status } = phaseTimer();
  const lines: string[] = [];
  const log = (line: string) => void lines.push(line);
  try {
    const memory = sampleMemory(100);
    const cpu0 = hostCpu().busy;
    const own0 = process.cpuUsage();
    const t0 = performance.now();
    let opts: UpOptions;
    let peaks: MemoryPeaks;
    try {
      const manifest = await readBundle(bundleDir, plan);
      opts = {
        provider,
        packages: bundleSource(bundleDir, manifest),
        addons: variant === "bridge" ? false : bundleSources(bundleDir, manifest),
        clusterDir: cdir,
        kubeconfig: false,
        log,
        status,
      };
      await up(plan, opts);
      const t1 = performance.now();
      const kc = kubeConfig(await readFile(clusterPaths(cdir).kubeconfig, "utf8"));
      const nodeNames = plan.nodes.map((n) => n.name);
      if (variant === "bridge") {
        const machines = await provider.list(plan, { clusterDir: cdir, log: () => {} });
        const hosts = await connectAll(plan, machines, { clusterDir: cdir, policy: hostKeyPolicy(), concurrency: 3 });
        try {
          await installTestCni(plan, hosts, await listNodes(kc));
        } finally {
          await Promise.all([...hosts.values()].map((h) => h.close()));
        }
      }
      await waitNodes(kc, nodeNames, { ready: true, timeoutMs: 300_000, intervalMs: 250 });
      if (variant !== "bridge") await calicoNodeReady(kc, plan);
      phases.set(
        variant === "bridge"
          ? "Pod network (test CNI) and all nodes Ready"
          : "after up: all nodes and calico-node Ready",
        seconds(t1),
      );
    } finally {
      peaks = memory.stop();
    }
    const total = seconds(t0);
    const own = process.cpuUsage(own0);
    const hostBusy = hostCpu().busy - cpu0;
    // A baked run that found no baked image would time the base image under the wrong name.
    const fromBaked = lines.some((l) => FROM_BAKED.test(l));
    if (fromBaked !== (approach === "baked"))
      throw new Error(`the ${approach} run made its nodes ${fromBaked ? "from" : "without"} the baked node image`);
    const linkerd = [...phases].filter(([k]) => LINKERD_STEPS.test(k)).reduce((sum, [, v]) => sum + v, 0);
    if (variant === "linkerd" || variant === "full")
      phases.set("Linkerd: no Linkerd to its control plane Ready and injecting", linkerd);
    return {
      total,
      phases,
      ownCpu: (own.user + own.system) / 1e6,
      hostBusy,
      hostCapacity: total * cpus(),
      rss: peaks.rss,
      maxRss: process.resourceUsage().maxRSS / 1024,
      hostMem: peaks.hostPeak - peaks.hostStart,
      after: await afterReady(plan, opts, file, approach),
    };
  } catch (e) {
    say(`${variant} ${approach}: failed; its log's last lines:\n${lines.slice(-30).join("\n")}`);
    throw e;
  } finally {
    await provider.destroy(plan, { clusterDir: cdir, log: () => {} }).catch((e) => say(`destroy: ${e}`));
    await rm(dir, { recursive: true, force: true });
  }
}

/** bake makes the variant's baked node image from its bundle; returns its key and the seconds it took. */
async function bake(variant: Variant, bundleDir: string): Promise<{ key: string; seconds: number }> {
  const { plan } = clusterFor(variant);
  const lines: string[] = [];
  const { phases, status } = phaseTimer();
  say(`baking the node image for ${variant} from its bundle (timed, not counted in time to Ready)`);
  const t = performance.now();
  try {
    const manifest = await readBundle(bundleDir, plan);
    const record = await bakeNodeImage(plan, {
      packages: bundleSource(bundleDir, manifest),
      pull: [],
      log: (line) => void lines.push(line),
      status,
    });
    const took = seconds(t);
    say(`baked in ${f1(took)} s: ${[...phases].map(([k, v]) => `${k} ${f2(v)}`).join(", ")}`);
    if (plan.provider.name === "nspawn") {
      // Nodes are copies (cp --reflink=auto): from another file system than the base image's,
      // the copy may cost differently, a difference of the bench's, not of baking.
      const base = statSync(join(imageDir(plan.provider.release), "rootfs")).dev;
      if (statSync(bakedImageRoot(record.key)).dev !== base)
        say(
          `note: the baked image (${bakedImageRoot(record.key)}) is on another file system than the base image; TMPDIR on the cache's file system makes the copies alike`,
        );
    }
    return { key: record.key, seconds: took };
  } catch (e) {
    say(`bake failed; its log's last lines:\n${lines.slice(-30).join("\n")}`);
    throw e;
  }
}

/** One run's line on stderr. */
function runLine(r: Run): string {
  const a = r.after;
  return [
    `${f2(r.total)} s (load ${loadavg()[0]?.toFixed(1)}): ${[...r.phases].map(([k, v]) => `${k} ${f2(v)}`).join(", ")}`,
    `kubelab CPU ${f1(r.ownCpu)} s, host busy ${f1(r.hostBusy)} of ${f1(r.hostCapacity)} s, RSS peak ${mib(r.rss)} (max ${mib(r.maxRss)}), host memory +${mib(r.hostMem)}`,
    ...(a ? [`no-op up ${f2(a.noop)} s, doctor ${f2(a.doctor)} s (exit ${a.doctorCode})`] : []),
  ].join("; ");
}

/** The summary block of one approach: the medians of its runs. */
function summary(variant: Variant, approach: Approach, runs: Run[], goal: string, bakeS?: number): string {
  const m = (f: (r: Run) => number) => median(runs.map(f));
  const phases = new Map<string, number[]>();
  for (const r of runs) for (const [k, v] of r.phases) phases.set(k, [...(phases.get(k) ?? []), v]);
  const nodes = WORKERS + 1;
  const afters = runs.flatMap((r) => (r.after ? [r.after] : []));
  const failed = [...new Set(afters.flatMap((a) => a.failed))];
  return [
    `${variant}, ${APPROACH_TITLE[approach]}${bakeS === undefined ? "" : ` (baked once in ${f1(bakeS)} s, not counted)`}: ${SHAPE} (nspawn, offline bundle, warm caches), median of ${runs.length}: up to ${goal} ${f2(m((r) => r.total))} s`,
    `  ${[...phases].map(([k, v]) => `${k} ${f2(median(v))}`).join(", ")}`,
    `  kubelab CPU ${f2(m((r) => r.ownCpu))} s (${f2(m((r) => r.ownCpu) / nodes)} s per node), host CPU busy ${f1(m((r) => r.hostBusy))} of ${f1(m((r) => r.hostCapacity))} s (${cpus()} cores x wall); kubelab RSS peak ${mib(m((r) => r.rss))} (process max ${mib(m((r) => r.maxRss))}), host memory in use +${mib(m((r) => r.hostMem))} at peak`,
    ...(afters.length > 0
      ? [
          `  on the Ready cluster: no-op up ${f2(median(afters.map((a) => a.noop)))} s (0 changes), kubelab doctor ${f2(median(afters.map((a) => a.doctor)))} s (${failed.length === 0 ? "no check failed" : `failed: ${failed.join(", ")}`})`,
        ]
      : []),
  ].join("\n");
}

const work = await mkdtemp(join(tmpdir(), "kubelab-bench-"));
/**
 * --journaled-fs: the machines (and the baked image, so its hard links reach them) on a
 * fresh ext4 file system with a journal, as mkfs.ext4 makes it, in a sparse file mounted
 * through a loop device. Where the host's own file system is ext4 WITHOUT a journal (this
 * VM's is), the kernel's inode allocator skips every inode deleted in the last 12 hours
 * (fs/ext4/ialloc.c, recently_deleted, only without a journal): after a few labs made and
 * removed, copying a node's root spends most of its time there, and time to Ready grows run
 * after run for a reason that is the host's, not kubelab's.
 */
const JOURNALED = args.includes("--journaled-fs");
const fsDir = join(work, "fs");
if (JOURNALED) {
  const img = join(work, "fs.img");
  await run("truncate", ["-s", "40G", img]);
  await run("mkfs.ext4", ["-q", "-F", img]);
  await mkdir(fsDir);
  await run("mount", ["-o", "loop", img, fsDir]);
  process.env.KUBELAB_NSPAWN_DIR = join(fsDir, "machines");
  say(`machines on a journaled ext4 in ${img} (mounted at ${fsDir})`);
}
// Baked images of the bench's own: the user's (in their cache) are neither found nor replaced.
process.env.KUBELAB_BAKED_DIR = JOURNALED ? join(fsDir, "baked") : join(work, "baked");
try {
  for (const variant of VARIANTS) {
    // Each variant its own bundle: every image in a bundle is imported, so Calico's would
    // slow the bridge variant's import down.
    const bundleDir = join(work, `bundle-${variant}`);
    say(`making the offline bundle for ${variant} (not timed)`);
    await createTestBundle(shim, clusterFor(variant).plan, bundleDir);
    const approaches: Approach[] = bakedFor(variant) ? ["base", "baked"] : ["base"];
    // Every variant has the same versions, hence the same key: each bakes from its own bundle.
    const baked = approaches.includes("baked") ? await bake(variant, bundleDir) : undefined;
    const runs: Record<Approach, Run[]> = { base: [], baked: [] };
    try {
      for (let r = 1; r <= RUNS; r++) {
        // Alternating order: a host getting slower (or faster) over the pass weighs on both.
        for (const approach of r % 2 === 1 ? approaches : [...approaches].reverse()) {
          const run = await once(variant, approach, bundleDir, work);
          runs[approach].push(run);
          say(`${variant} ${approach} run ${r}/${RUNS}: ${runLine(run)}`);
        }
      }
    } finally {
      if (baked) await forgetBakedImage(baked.key).catch((e) => say(`could not remove the baked image: ${e}`));
    }
    const goal = {
      bridge: "all nodes Ready (bridge CNI)",
      calico: "all nodes and calico-node Ready (Calico)",
      linkerd: "all nodes, calico-node and Linkerd's control plane Ready (Calico, Linkerd)",
      full: "every node and addon Ready (Calico, MetalLB, Headlamp, Linkerd)",
    }[variant];
    for (const approach of approaches)
      console.log(summary(variant, approach, runs[approach], goal, approach === "baked" ? baked?.seconds : undefined));
    if (baked) {
      const base = median(runs.base.map((r) => r.total));
      const fast = median(runs.baked.map((r) => r.total));
      console.log(`${variant}: baked / base = ${(fast / base).toFixed(2)} (${f2(fast)} s / ${f2(base)} s to Ready)`);
    }
  }
} finally {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  if (JOURNALED) await run("umount", [fsDir]).catch((e) => say(`umount ${fsDir}: ${e}`));
  await rm(work, { recursive: true, force: true });
}
