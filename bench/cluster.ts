/**
 * Time to a working cluster: `up()` from nothing to every node Ready, on 1 control plane +
 * 2 workers as nspawn nodes, offline, from an offline bundle made once beforehand (warm
 * caches: node image, bundle). Split by phase: machine creation, each preparation and
 * cluster phase, the wait for registration; then a pod network (the tests' bridge CNI:
 * Calico comes with the addons) and the wait until all nodes are Ready.
 *
 * Needs root and what the end-to-end tests need (scripts/dev-tools/install-deps.sh).
 * Run: npx tsx bench/cluster.ts [--runs R]   (figures: the median of R runs, default 1)
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { bundleSource, readBundle } from "../src/artifacts/offline-bundle.js";
import { up } from "../src/cluster/up.js";
import { kubeConfig, listNodes, waitNodes } from "../src/kube/client.js";
import { clusterPaths } from "../src/plan/cluster-dir.js";
import { nspawnProvider } from "../src/providers/nspawn/provider.js";
import { connectAll, hostKeyPolicy } from "../src/remote/connect-all.js";
import { createTestBundle } from "../test/helpers/bundle.js";
import { NO_ADDONS, nspawnTestCluster } from "../test/helpers/nspawn.js";
import { installTestCni } from "../test/helpers/test-cni.js";

const args = process.argv.slice(2);
const runsAt = args.indexOf("--runs");
const RUNS = runsAt === -1 ? 1 : Number(args[runsAt + 1]);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error("usage: bench/cluster.ts [--runs R]");

const say = (line: string) => console.error(`[bench] ${line}`);
const seconds = (start: number) => (performance.now() - start) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const cleanups: (() => Promise<unknown>)[] = [];
const shim = {
  after: (fn: () => unknown) => void cleanups.push(async () => fn()),
  skip: (why?: string) => {
    throw new Error(`cannot run: ${why}`);
  },
};

async function once(bundleDir: string): Promise<{ total: number; phases: Map<string, number> }> {
  const { plan } = nspawnTestCluster("bench", { workers: 2 }, { addons: NO_ADDONS });
  const clusterDir = await mkdtemp(join(tmpdir(), "kubelab-bench-cluster-"));
  const phases = new Map<string, number>();
  let title = "";
  let started = 0;
  const status = {
    start(t: string) {
      title = t;
      started = performance.now();
    },
    end() {
      phases.set(title, seconds(started));
    },
  };
  try {
    const t0 = performance.now();
    await up(plan, {
      provider: nspawnProvider,
      packages: bundleSource(bundleDir, await readBundle(bundleDir, plan)),
      clusterDir,
      kubeconfig: false,
      log: () => {},
      status,
    });
    const t1 = performance.now();
    const kc = kubeConfig(await readFile(clusterPaths(clusterDir).kubeconfig, "utf8"));
    const machines = await nspawnProvider.list(plan, { clusterDir, log: () => {} });
    const hosts = await connectAll(plan, machines, { clusterDir, policy: hostKeyPolicy(), concurrency: 3 });
    try {
      await installTestCni(plan, hosts, await listNodes(kc));
      await waitNodes(
        kc,
        plan.nodes.map((n) => n.name),
        { ready: true, timeoutMs: 300_000, intervalMs: 250 },
      );
    } finally {
      await Promise.all([...hosts.values()].map((h) => h.close()));
    }
    phases.set("Pod network (test CNI) and all nodes Ready", seconds(t1));
    return { total: seconds(t0), phases };
  } finally {
    await nspawnProvider.destroy(plan, { clusterDir, log: () => {} }).catch((e) => say(`destroy: ${e}`));
    await rm(clusterDir, { recursive: true, force: true });
  }
}

const work = await mkdtemp(join(tmpdir(), "kubelab-bench-"));
try {
  const { plan } = nspawnTestCluster("bench", { workers: 2 }, { addons: NO_ADDONS });
  const bundleDir = join(work, "bundle");
  say("making the offline bundle (not timed)");
  await createTestBundle(shim, plan, bundleDir);
  const totals: number[] = [];
  const byPhase = new Map<string, number[]>();
  for (let r = 1; r <= RUNS; r++) {
    const { total, phases } = await once(bundleDir);
    totals.push(total);
    for (const [k, v] of phases) byPhase.set(k, [...(byPhase.get(k) ?? []), v]);
    say(
      `run ${r}/${RUNS}: up to all nodes Ready ${total.toFixed(2)} s (load ${loadavg()[0]?.toFixed(1)}): ${[...phases]
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(", ")}`,
    );
  }
  console.log(
    `1 control plane + 2 workers (nspawn, offline bundle, warm caches), median of ${RUNS}: up to all nodes Ready ${median(totals).toFixed(2)} s`,
  );
  for (const [k, v] of byPhase) console.log(`  ${k}: ${median(v).toFixed(2)} s`);
} finally {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await rm(work, { recursive: true, force: true });
}
