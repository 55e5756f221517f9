/**
 * Collecting doctor's evidence from a live cluster: the nodes over SSH (machines that run),
 * the API with the cluster's kubeconfig, probes from this host of every LoadBalancer
 * address, and, when the nodes are VirtualBox VMs, their settings from VBoxManage. What
 * cannot be reached is recorded with the reason; the checks that need it are then skipped,
 * saying why, and the others still run.
 */
import { readFile } from "node:fs/promises";
import { kubeConfig } from "../kube/client.js";
import { clusterPaths } from "../plan/cluster-dir.js";
import type { Plan } from "../plan/types.js";
import type { MachineProvider } from "../providers/types.js";
import { connectAll, hostKeyPolicy } from "../remote/connect-all.js";
import type { Remote } from "../remote/types.js";
import { API_KEYS, collectApi } from "./api.js";
import { collectNode, nodeMacs } from "./nodes.js";
import { probeAddresses, probeTargets } from "./probe.js";
import type { ApiEvidence, Evidence, EvidenceSource, NodeEvidence } from "./types.js";
import { collectVirtualBox } from "./virtualbox.js";

export interface CollectOptions {
  readonly plan: Plan;
  /** The cluster file as parsed (kept in the evidence, so a dump re-derives the same plan). */
  readonly file: unknown;
  readonly provider: MachineProvider;
  readonly clusterDir: string;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** collectEvidence reads everything the checks look at. */
export async function collectEvidence(opts: CollectOptions): Promise<Evidence> {
  const { plan } = opts;
  const unavailable: Partial<Record<EvidenceSource, string>> = {};
  const nodes = await collectNodes(opts).catch((e) => {
    unavailable.nodes = message(e);
    return undefined;
  });
  const api = await collectFromApi(opts).catch((e) => {
    unavailable.api = message(e);
    return undefined;
  });
  let probes: Evidence["probes"];
  if (!api) unavailable.probes = "the LoadBalancer addresses come from the API, which could not be read";
  else {
    const targets = probeTargets(api.objects[API_KEYS.service] ?? []);
    opts.log(`probe ${targets.length} LoadBalancer address${targets.length === 1 ? "" : "es"} from this host`);
    probes = await probeAddresses(targets, {
      network: plan.network.block,
      macToNode: nodes ? nodeMacs(nodes) : undefined,
    }).catch((e) => {
      unavailable.probes = message(e);
      return undefined;
    });
  }
  const virtualbox = await collectVirtualBox(plan).then(
    (vms) => {
      if (!vms)
        unavailable.virtualbox = `the machines are not VirtualBox VMs (provider ${plan.provider.name}${plan.provider.name === "vagrant" ? `, hypervisor ${plan.provider.hypervisor}` : ""})`;
      else opts.log(`read ${Object.keys(vms).length} VirtualBox VM${Object.keys(vms).length === 1 ? "" : "s"}`);
      return vms;
    },
    (e) => {
      unavailable.virtualbox = message(e);
      return undefined;
    },
  );
  return {
    format: "kubelab.dev/doctor-evidence/v1",
    collectedAt: new Date().toISOString(),
    file: opts.file,
    ...(nodes ? { nodes } : {}),
    ...(api ? { api } : {}),
    ...(probes ? { probes } : {}),
    ...(virtualbox ? { virtualbox } : {}),
    unavailable,
  };
}

async function collectNodes(opts: CollectOptions): Promise<Record<string, NodeEvidence>> {
  const { plan } = opts;
  const machines = await opts.provider.list(plan, { clusterDir: opts.clusterDir, log: opts.log, signal: opts.signal });
  const running = machines.filter((m) => m.state === "running");
  if (running.length === 0) throw new Error("no machine of this cluster is running (kubelab up creates them)");
  const hosts: Map<string, Remote> = await connectAll(
    { ...plan, nodes: plan.nodes.filter((n) => running.some((m) => m.node === n.name)) },
    running,
    { clusterDir: opts.clusterDir, policy: hostKeyPolicy(), concurrency: 8, signal: opts.signal },
  );
  try {
    opts.log(`read ${hosts.size} node${hosts.size === 1 ? "" : "s"} over SSH`);
    // One node that cannot be read does not hide the others; its checks say it was not read.
    const names = [...hosts.keys()];
    const controlPlanes = new Set(plan.nodes.filter((n) => n.role === "control-plane").map((n) => n.name));
    const settled = await Promise.allSettled(
      [...hosts].map(([name, r]) => collectNode(r, { controlPlane: controlPlanes.has(name) })),
    );
    const failed = settled.flatMap((r, i) => (r.status === "rejected" ? [`${names[i]}: ${message(r.reason)}`] : []));
    if (failed.length > 0) opts.log(`could not read ${failed.join("; ")}`);
    return Object.fromEntries(
      settled.flatMap((r, i) => (r.status === "fulfilled" ? [[names[i] as string, r.value] as const] : [])),
    );
  } finally {
    await Promise.all([...hosts.values()].map((h) => h.close().catch(() => {})));
  }
}

async function collectFromApi(opts: CollectOptions): Promise<ApiEvidence> {
  const path = clusterPaths(opts.clusterDir).kubeconfig;
  const config = await readFile(path, "utf8").catch(() => {
    throw new Error(`no kubeconfig at ${path} (the cluster was not made yet: kubelab up)`);
  });
  opts.log("read the cluster through its API");
  return collectApi(kubeConfig(config), opts.plan);
}
