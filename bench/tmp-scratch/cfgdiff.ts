import { bakePlan, networkOf } from "../../src/plan/bake.js";
import { renderNodeFiles } from "../../src/render/node-files.js";
import { NO_ADDONS, nspawnTestCluster } from "../../test/helpers/nspawn.js";
const plan = nspawnTestCluster("bench", { workers: 2 }, { addons: NO_ADDONS }).plan;
const b = bakePlan(plan, networkOf("10.254.240.0/29"));
const env = { container: true, cgroupV1: false };
const a = renderNodeFiles(b, "bake", env);
const c = renderNodeFiles(plan, "worker-1", env);
for (const f of c) { const g = a.find((x) => x.path === f.path); if (g?.content !== f.content) { console.log("DIFF", f.path); if (f.path.includes("containerd")) { const al=g?.content.split("\n")??[]; const cl=f.content.split("\n"); cl.forEach((l,i)=>{ if (al[i]!==l) console.log(" -", al[i], "\n +", l); }); } } }
