/**
 * Plan + render of a 100-node cluster file: validation, address allocation, rules and
 * every node's files. Prints the median of 20 runs (after 3 warm-up runs).
 * Run: npx tsx bench/plan.ts
 */
import { parse } from "yaml";
import { DEFAULT_CLUSTER_YAML } from "../src/config/default-cluster.js";
import { validateCluster } from "../src/plan/validate.js";
import { renderCluster } from "../src/render/cluster.js";
import { PLAIN_NODE } from "../src/render/node-environment.js";

const RUNS = 20;
const doc = parse(DEFAULT_CLUSTER_YAML);
doc.nodes = [
  { name: "cp-{n}", role: "control-plane", count: 3 },
  { name: "worker-{n}", role: "worker", count: 97, cpus: 2, memory: 2048 },
];
doc.network = { cidr: "10.20.0.0/16" };
doc.kubernetes.controlPlaneEndpoint = "10.20.0.10:6443";
doc.addons.metallb.pools = ["10.20.200.0/24"];

function once(): number {
  const start = process.hrtime.bigint();
  const result = validateCluster(structuredClone(doc));
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  const rendered = renderCluster(result.plan, { nodeEnvironment: PLAIN_NODE });
  if (rendered.nodes.length !== 100) throw new Error("expected 100 nodes");
  return Number(process.hrtime.bigint() - start) / 1e6;
}

for (let i = 0; i < 3; i++) once();
const times = Array.from({ length: RUNS }, once).sort((a, b) => a - b);
const median = ((times[RUNS / 2 - 1] ?? 0) + (times[RUNS / 2] ?? 0)) / 2;
console.log(
  `plan + render, 100 nodes: median ${median.toFixed(1)} ms over ${RUNS} runs (min ${times[0]?.toFixed(1)}, max ${times.at(-1)?.toFixed(1)})`,
);
