import { mkdtemp, rm } from "node:fs/promises";
import { createNspawnProvider } from "../../src/providers/nspawn/provider.js";
import { NO_ADDONS, nspawnTestCluster } from "../../test/helpers/nspawn.js";
const plan = nspawnTestCluster("bench", { workers: 2 }, { addons: NO_ADDONS }).plan;
const baked = process.argv[2] !== "base";
const p = createNspawnProvider({ bakedImages: baked });
const clusterDir = await mkdtemp("/tmp/kb-create-");
const t0 = performance.now();
const log = (l: string) => console.log(`${((performance.now() - t0) / 1000).toFixed(2)} ${l}`);
try {
  await p.create(plan, { clusterDir, log });
  log("created");
} finally {
  await p.destroy(plan, { clusterDir, log: () => {} });
  await rm(clusterDir, { recursive: true, force: true });
}
