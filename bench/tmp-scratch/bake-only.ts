import { bundleSource, readBundle } from "../../src/artifacts/offline-bundle.js";
import { bakeNodeImage } from "../../src/cluster/bake-node-image.js";
import { createTestBundle } from "../../test/helpers/bundle.js";
import { NO_ADDONS, nspawnTestCluster } from "../../test/helpers/nspawn.js";
const plan = nspawnTestCluster("bench", { workers: 2 }, { addons: NO_ADDONS }).plan;
const dir = "/var/tmp/kb-bundle";
const cleanups: (() => unknown)[] = [];
const shim = { after: (f: () => unknown) => void cleanups.push(f), skip: (w?: string) => { throw new Error(String(w)); } };
await createTestBundle(shim, plan, dir);
const m = await readBundle(dir, plan);
const t = Date.now();
const r = await bakeNodeImage(plan, { packages: bundleSource(dir, m), pull: [], log: () => {}, status: { start() {}, end() {} } });
console.log(r.key, (Date.now() - t) / 1000);
for (const c of cleanups) await c();
setTimeout(() => {
  // @ts-ignore
  for (const h of process._getActiveHandles()) console.log("handle", h?.constructor?.name, h?.remoteAddress ?? "", h?.localPort ?? "", h?.spawnfile ?? "");
  // @ts-ignore
  for (const r of process._getActiveRequests()) console.log("request", r?.constructor?.name);
}, 3000).unref();
