/**
 * Whole-lab snapshots on 1 control plane + 2 workers as nspawn nodes (offline bundle, the
 * tests' bridge CNI, warm caches): the time of `snapshot save` (etcd snapshot, stop, copy every
 * node's root, start again until every node and workload is Ready), of a second save right
 * after it (the copy shares unchanged files with the first: rsync --link-dest on a filesystem
 * without reflinks), of `snapshot restore` (stop, copy back, start, Ready), and the disk each
 * snapshot takes on this host (du; hard-linked files counted once, with the first snapshot).
 *
 * Needs root and what the end-to-end tests need (scripts/dev-tools/install-deps.sh).
 * Run: npx tsx bench/snapshot.ts
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { bundleSource, readBundle } from "../src/artifacts/offline-bundle.js";
import { restoreSnapshot, saveSnapshot, snapshotsDir } from "../src/cluster/snapshot.js";
import { up } from "../src/cluster/up.js";
import { kubeConfig, listNodes, waitNodes } from "../src/kube/client.js";
import { clusterPaths } from "../src/plan/cluster-dir.js";
import { which } from "../src/providers/host.js";
import { nspawnProvider } from "../src/providers/nspawn/provider.js";
import { snapshotsRoot } from "../src/providers/nspawn/snapshots.js";
import { connectAll, hostKeyPolicy } from "../src/remote/connect-all.js";
import { createTestBundle } from "../test/helpers/bundle.js";
import { NO_ADDONS, nspawnTestCluster } from "../test/helpers/nspawn.js";
import { installTestCni } from "../test/helpers/test-cni.js";

const say = (line: string) => console.error(`[bench] ${line}`);
const seconds = (start: number) => (performance.now() - start) / 1000;
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
/** du -sk of each path, hard links counted once, with the first path that has them. */
const du = (...paths: string[]) =>
  execFileSync("du", ["-sk", ...paths])
    .toString()
    .trim()
    .split("\n")
    .map((l) => Number.parseInt(l, 10));

const cleanups: (() => Promise<unknown>)[] = [];
const shim = {
  after: (fn: () => unknown) => void cleanups.push(async () => fn()),
  skip: (why?: string) => {
    throw new Error(`cannot run: ${why}`);
  },
};

const plan = nspawnTestCluster("bsnap", { workers: 2 }, { addons: NO_ADDONS }).plan;
const work = await mkdtemp(join(tmpdir(), "kubelab-bench-"));
const clusterDir = join(work, "cluster");
const opts = { provider: nspawnProvider, clusterDir, log: (l: string) => say(`  ${l}`) };
try {
  const bundleDir = join(work, "bundle");
  say("making the offline bundle and the lab (not timed)");
  await createTestBundle(shim, plan, bundleDir);
  await up(plan, {
    provider: nspawnProvider,
    packages: bundleSource(bundleDir, await readBundle(bundleDir, plan)),
    addons: false,
    clusterDir,
    kubeconfig: false,
    log: () => {},
    status: { start: () => {}, end: () => {} },
  });
  const kc = kubeConfig(await readFile(clusterPaths(clusterDir).kubeconfig, "utf8"));
  const machines = await nspawnProvider.list(plan, { clusterDir, log: () => {} });
  const hosts = await connectAll(plan, machines, { clusterDir, policy: hostKeyPolicy(), concurrency: 3 });
  try {
    await installTestCni(plan, hosts, await listNodes(kc));
  } finally {
    await Promise.all([...hosts.values()].map((h) => h.close()));
  }
  await waitNodes(
    kc,
    plan.nodes.map((n) => n.name),
    { ready: true, timeoutMs: 300_000 },
  );

  let t = performance.now();
  const first = await saveSnapshot(plan, "s1", opts);
  const save1 = seconds(t);
  say(`save s1: ${save1.toFixed(1)} s (load ${loadavg()[0]?.toFixed(1)})`);

  t = performance.now();
  await saveSnapshot(plan, "s2", opts);
  const save2 = seconds(t);
  say(`save s2: ${save2.toFixed(1)} s (load ${loadavg()[0]?.toFixed(1)})`);

  t = performance.now();
  await restoreSnapshot(plan, "s1", { ...opts, confirm: async () => true, print: () => {} });
  const restore = seconds(t);
  say(`restore s1: ${restore.toFixed(1)} s (load ${loadavg()[0]?.toFixed(1)})`);

  const root = snapshotsRoot(plan.name);
  const [s1, s2] = du(join(root, "s1"), join(root, "s2"));
  const [own] = du(snapshotsDir(clusterDir));
  const [nodes] = du(...plan.nodes.map((n) => join(root, "..", n.name, "rootfs")));
  const how = which("rsync") ? "rsync --link-dest" : "cp --reflink=auto (no rsync on this host)";
  console.log(`1 control plane + 2 workers (nspawn, bridge CNI), one run; copies by ${how}:`);
  console.log(`  snapshot save (first, full copy): ${save1.toFixed(1)} s`);
  console.log(`  snapshot save (second, unchanged files shared): ${save2.toFixed(1)} s`);
  console.log(`  snapshot restore: ${restore.toFixed(1)} s`);
  console.log(
    `  disk: the nodes' roots ${mib(nodes ?? 0)}; s1 ${mib(s1 ?? 0)}; s2 beyond s1 ${mib(s2 ?? 0)}; kubelab's files and etcd snapshots ${own ?? 0} KiB (manifest s1: disks ${mib((first.sizes.disks ?? 0) / 1024)})`,
  );
} finally {
  await nspawnProvider.destroy(plan, { clusterDir, log: () => {} }).catch((e) => say(`destroy: ${e}`));
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await rm(work, { recursive: true, force: true });
}
