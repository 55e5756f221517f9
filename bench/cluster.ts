/**
 * Time to a working cluster: `up()` from nothing to every node Ready, on 1 control plane +
 * 2 workers as nspawn nodes, offline, from an offline bundle made once beforehand (warm
 * caches: node image, bundle). Split by phase: machine creation, each preparation and
 * cluster phase, the wait for registration; then the pod network until all nodes are Ready,
 * in two variants:
 * - `bridge`: no addons, then the tests' bridge CNI (test/helpers/test-cni.ts);
 * - `calico`: the lab's Calico (VXLAN, its images built here: scripts/dev-tools/calico-images.sh)
 *   applied by `up` itself, until every node and every calico-node pod is Ready.
 *
 * Needs root and what the end-to-end tests need (scripts/dev-tools/install-deps.sh), and for
 * the calico variant Calico's images (npm run test:lab builds them first).
 * Run: npx tsx bench/cluster.ts [--runs R] [--cni bridge|calico|both]
 *      (figures: the median of R runs, default 1; both variants by default)
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { bundleSources } from "../src/addons/sources.js";
import { bundleSource, readBundle } from "../src/artifacts/offline-bundle.js";
import { up } from "../src/cluster/up.js";
import { kubeConfig, listNodes, poll, waitNodes } from "../src/kube/client.js";
import { clusterPaths } from "../src/plan/cluster-dir.js";
import type { Plan } from "../src/plan/types.js";
import { nspawnProvider } from "../src/providers/nspawn/provider.js";
import { connectAll, hostKeyPolicy } from "../src/remote/connect-all.js";
import { createTestBundle } from "../test/helpers/bundle.js";
import { NO_ADDONS, nspawnTestCluster } from "../test/helpers/nspawn.js";
import { installTestCni } from "../test/helpers/test-cni.js";

const args = process.argv.slice(2);
const option = (name: string) => {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
};
const RUNS = Number(option("--runs") ?? 1);
const CNI = option("--cni") ?? "both";
const usage = "usage: bench/cluster.ts [--runs R] [--cni bridge|calico|both]";
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(usage);
if (!["bridge", "calico", "both"].includes(CNI)) throw new Error(usage);

type Variant = "bridge" | "calico";
const VARIANTS: Variant[] = CNI === "both" ? ["bridge", "calico"] : [CNI as Variant];

/** The addons of each variant: none (the bridge CNI comes after up), or Calico alone. */
const ADDONS: Record<Variant, Record<string, unknown>> = {
  bridge: NO_ADDONS,
  calico: { ...NO_ADDONS, cni: { plugin: "calico", encapsulation: "vxlan" } },
};
const planFor = (v: Variant) => nspawnTestCluster("bench", { workers: 2 }, { addons: ADDONS[v] }).plan;

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

async function once(variant: Variant, bundleDir: string): Promise<{ total: number; phases: Map<string, number> }> {
  const plan = planFor(variant);
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
    const manifest = await readBundle(bundleDir, plan);
    await up(plan, {
      provider: nspawnProvider,
      packages: bundleSource(bundleDir, manifest),
      addons: variant === "calico" ? bundleSources(bundleDir, manifest) : false,
      clusterDir,
      kubeconfig: false,
      log: () => {},
      status,
    });
    const t1 = performance.now();
    const kc = kubeConfig(await readFile(clusterPaths(clusterDir).kubeconfig, "utf8"));
    const nodeNames = plan.nodes.map((n) => n.name);
    if (variant === "bridge") {
      const machines = await nspawnProvider.list(plan, { clusterDir, log: () => {} });
      const hosts = await connectAll(plan, machines, { clusterDir, policy: hostKeyPolicy(), concurrency: 3 });
      try {
        await installTestCni(plan, hosts, await listNodes(kc));
      } finally {
        await Promise.all([...hosts.values()].map((h) => h.close()));
      }
    }
    await waitNodes(kc, nodeNames, { ready: true, timeoutMs: 300_000, intervalMs: 250 });
    if (variant === "calico") await calicoNodeReady(kc, plan);
    phases.set(
      variant === "bridge" ? "Pod network (test CNI) and all nodes Ready" : "after up: all nodes and calico-node Ready",
      seconds(t1),
    );
    return { total: seconds(t0), phases };
  } finally {
    await nspawnProvider.destroy(plan, { clusterDir, log: () => {} }).catch((e) => say(`destroy: ${e}`));
    await rm(clusterDir, { recursive: true, force: true });
  }
}

const work = await mkdtemp(join(tmpdir(), "kubelab-bench-"));
try {
  for (const variant of VARIANTS) {
    // Each variant its own bundle: every image in a bundle is imported, so Calico's would
    // slow the bridge variant's import down.
    const bundleDir = join(work, `bundle-${variant}`);
    say(`making the offline bundle for ${variant} (not timed)`);
    await createTestBundle(shim, planFor(variant), bundleDir);
    const totals: number[] = [];
    const byPhase = new Map<string, number[]>();
    for (let r = 1; r <= RUNS; r++) {
      const { total, phases } = await once(variant, bundleDir);
      totals.push(total);
      for (const [k, v] of phases) byPhase.set(k, [...(byPhase.get(k) ?? []), v]);
      say(
        `${variant} run ${r}/${RUNS}: ${total.toFixed(2)} s (load ${loadavg()[0]?.toFixed(1)}): ${[...phases]
          .map(([k, v]) => `${k} ${v.toFixed(2)}`)
          .join(", ")}`,
      );
    }
    const goal = variant === "bridge" ? "all nodes Ready (bridge CNI)" : "all nodes and calico-node Ready (Calico)";
    console.log(
      `1 control plane + 2 workers (nspawn, offline bundle, warm caches), median of ${RUNS}: up to ${goal} ${median(totals).toFixed(2)} s`,
    );
    for (const [k, v] of byPhase) console.log(`  ${k}: ${median(v).toFixed(2)} s`);
  }
} finally {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await rm(work, { recursive: true, force: true });
}
