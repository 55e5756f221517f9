/**
 * doctor's node checks on real nspawn machines: two nodes prepared by kubelab's own phases,
 * evidence collected over SSH with collectNode. Every node check passes on the fresh nodes;
 * then one node is broken the way labs break (no localhost in /etc/hosts, runc back to
 * SystemdCgroup = false) and exactly the checks for those failures fail, on that node only.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { hostKeyPolicy, up } from "../../src/cluster/up.js";
import { nodeChecks } from "../../src/doctor/checks/nodes.js";
import { collectNode, nodeMacs } from "../../src/doctor/nodes.js";
import { formatResults, runChecks } from "../../src/doctor/run.js";
import type { CheckResult, Evidence, NodeEvidence } from "../../src/doctor/types.js";
import type { Plan } from "../../src/plan/types.js";
import { connectAll } from "../../src/remote/connect-all.js";
import type { Remote } from "../../src/remote/types.js";
import { CONTAINERD_CONFIG_PATH } from "../../src/render/containerd.js";
import { NO_ADDONS, nspawnTestCluster, requireNspawn, withCluster } from "../helpers/nspawn.js";
import { buildTestPackages, preparationOptions, serveDirectory } from "../helpers/packages.js";
import { type Step, steps } from "../helpers/steps.js";

/** The failing (check, node) pairs of a run, sorted. */
const failures = (results: readonly CheckResult[]) =>
  results
    .flatMap((r) => r.findings.filter((f) => f.verdict !== "pass").map((f) => `${r.id} ${f.subject} ${f.verdict}`))
    .sort();

describe("doctor's node checks on nspawn machines", () => {
  it("pass on freshly prepared nodes; a node broken the way labs break fails exactly those checks", async (t) => {
    if (!requireNspawn(t)) return;
    const { raw, plan } = nspawnTestCluster("d", { workers: 1 }, { addons: NO_ADDONS });
    const pkgs = await buildTestPackages(plan);
    await withCluster(t, plan, async (cluster) => {
      const step = steps(t);
      const served = await serveDirectory(pkgs.aptDir, plan.network.gateway);
      t.after(served.close);
      const { lines, ...opts } = preparationOptions(pkgs, served.url, cluster.ctx.clusterDir);
      await step("kubelab up prepares both nodes", async () => {
        const prepared = await up(plan, opts);
        assert.ok(prepared.changes.length > 0, lines.join("\n"));
      });

      const hosts = await connectAll(plan, cluster.machines, {
        clusterDir: opts.clusterDir,
        policy: hostKeyPolicy(),
        concurrency: 2,
      });
      // Closed here, before withCluster's t.after destroys the machines: a connection to a
      // machine that is already gone has nobody left to acknowledge its close.
      try {
        await checkNodes(plan, raw, hosts, t, step);
      } finally {
        await Promise.all([...hosts.values()].map((h) => h.close()));
      }
    });
  });
});

/** Collects, checks, breaks worker-1, collects and checks again: two steps of the scenario. */
async function checkNodes(
  plan: Plan,
  raw: unknown,
  hosts: Map<string, Remote>,
  t: TestContext,
  step: Step,
): Promise<void> {
  const collect = async (): Promise<Evidence> => {
    const nodes: Record<string, NodeEvidence> = {};
    await Promise.all(
      plan.nodes.map(async (n) => {
        nodes[n.name] = await collectNode(hosts.get(n.name) as Remote);
      }),
    );
    return {
      format: "kubelab.dev/doctor-evidence/v1",
      collectedAt: new Date().toISOString(),
      file: raw,
      nodes,
      unavailable: {},
    };
  };

  await step("every node check passes on the freshly prepared nodes", async () => {
    const fresh = await collect();
    const before = runChecks(fresh, nodeChecks);
    const report = formatResults(before, { verbose: true });
    t.diagnostic(report);
    assert.deepEqual(failures(before), [], report);
    for (const r of before) assert.equal(r.findings.length, plan.nodes.length, `${r.id}: one finding per node`);
    // Each node's lab NIC (host0) MAC names that node.
    const macs = nodeMacs(fresh.nodes ?? {});
    assert.deepEqual([...new Set(macs.values())].sort(), plan.nodes.map((n) => n.name).sort());
  });

  await step("worker-1 without localhost in /etc/hosts and runc on cgroupfs fails exactly those checks", async () => {
    const worker = hosts.get("worker-1") as Remote;
    await worker.run(["sed", "-i", "/\\blocalhost\\b/d", "/etc/hosts"]);
    await worker.run(["sed", "-i", "s/SystemdCgroup = true/SystemdCgroup = false/", CONTAINERD_CONFIG_PATH]);
    await worker.run(["systemctl", "restart", "containerd"]);
    assert.match((await worker.readFile(CONTAINERD_CONFIG_PATH)) ?? "", /SystemdCgroup = false/);

    const after = runChecks(await collect(), nodeChecks);
    const broken = formatResults(after, { verbose: true });
    t.diagnostic(broken);
    assert.deepEqual(
      failures(after),
      [
        "node.cgroup-driver worker-1 fail",
        "node.hosts-localhost worker-1 fail",
        "node.resolver-localhost worker-1 fail",
      ],
      broken,
    );
    const finding = (id: string) => after.find((r) => r.id === id)?.findings.find((f) => f.subject === "worker-1");
    assert.match(finding("node.cgroup-driver")?.evidence.join("\n") ?? "", /SystemdCgroup = false/);
    assert.match(finding("node.resolver-localhost")?.evidence.join("\n") ?? "", /getent ahosts localhost/);
  });
}
