/**
 * Time to a working cluster: `up()` from nothing to every node Ready, on 1 control plane +
 * 2 workers as nspawn nodes, offline, from an offline bundle made once beforehand (warm
 * caches: node image, bundle). Split by phase: machine creation, each preparation and
 * cluster phase, the wait for registration; then the pod network until all nodes are Ready,
 * in three variants:
 * - `bridge`: no addons, then the tests' bridge CNI (test/helpers/test-cni.ts);
 * - `calico`: the lab's Calico (VXLAN, its images built here: scripts/dev-tools/calico-images.sh)
 *   applied by `up` itself, until every node and every calico-node pod is Ready;
 * - `linkerd`: Calico, then Linkerd (its images built here: scripts/dev-tools/linkerd-images.sh);
 *   its steps' times are the time from a cluster without Linkerd to its control plane Ready
 *   and injecting.
 *
 * Needs root and what the end-to-end tests need (scripts/dev-tools/install-deps.sh), and for
 * the calico and linkerd variants their images (npm run test:lab builds them first).
 * Run: npx tsx bench/cluster.ts [--runs R] [--variant bridge|calico|linkerd|all]
 *      (figures: the median of R runs, default 1; bridge and calico by default)
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
const CHOICE = option("--variant") ?? "default";
const usage = "usage: bench/cluster.ts [--runs R] [--variant bridge|calico|linkerd|all]";
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(usage);

type Variant = "bridge" | "calico" | "linkerd";
const CHOICES: Record<string, Variant[]> = {
  default: ["bridge", "calico"],
  all: ["bridge", "calico", "linkerd"],
  bridge: ["bridge"],
  calico: ["calico"],
  linkerd: ["linkerd"],
};
const VARIANTS = CHOICES[CHOICE];
if (!VARIANTS) throw new Error(usage);

const CALICO = { cni: { plugin: "calico", encapsulation: "vxlan" } };
/** The addons of each variant: none (the bridge CNI comes after up), Calico alone, or with Linkerd. */
const ADDONS: Record<Variant, Record<string, unknown>> = {
  bridge: NO_ADDONS,
  calico: { ...NO_ADDONS, ...CALICO },
  linkerd: { ...NO_ADDONS, ...CALICO, linkerd: { enabled: true } },
};
/** The status titles of Linkerd's steps: from a cluster without it to its control plane injecting. */
const LINKERD_STEPS = /^(Gateway API .* CRDs|Linkerd .* (CRDs|control plane))$/;
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
      addons: variant === "bridge" ? false : bundleSources(bundleDir, manifest),
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
    if (variant !== "bridge") await calicoNodeReady(kc, plan);
    phases.set(
      variant === "bridge" ? "Pod network (test CNI) and all nodes Ready" : "after up: all nodes and calico-node Ready",
      seconds(t1),
    );
    const linkerd = [...phases].filter(([k]) => LINKERD_STEPS.test(k)).reduce((sum, [, v]) => sum + v, 0);
    if (variant === "linkerd") phases.set("Linkerd: no Linkerd to its control plane Ready and injecting", linkerd);
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
    const goal = {
      bridge: "all nodes Ready (bridge CNI)",
      calico: "all nodes and calico-node Ready (Calico)",
      linkerd: "all nodes, calico-node and Linkerd's control plane Ready (Calico, Linkerd)",
    }[variant];
    console.log(
      `1 control plane + 2 workers (nspawn, offline bundle, warm caches), median of ${RUNS}: up to ${goal} ${median(totals).toFixed(2)} s`,
    );
    for (const [k, v] of byPhase) console.log(`  ${k}: ${median(v).toFixed(2)} s`);
  }
} finally {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await rm(work, { recursive: true, force: true });
}
