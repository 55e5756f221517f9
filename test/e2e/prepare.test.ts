/**
 * `up` on real nspawn machines: three nodes created and prepared for kubeadm, every
 * assertion read back from the machines themselves. Packages come from the test package
 * source (containerd built with Go, a local apt repository served on the test bridge).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hostKeyPolicy, PREPARE_PHASES, up } from "../../src/cluster/up.js";
import type { Phase } from "../../src/phases/phase.js";
import type { Plan } from "../../src/plan/types.js";
import { startNode, stopNode } from "../../src/providers/nspawn/provider.js";
import { connectAll } from "../../src/remote/connect-all.js";
import type { Remote } from "../../src/remote/types.js";
import { nspawnTestCluster, requireNspawn, withCluster } from "../helpers/nspawn.js";
import { buildTestPackages, preparationOptions, serveDirectory } from "../helpers/packages.js";
import { steps } from "../helpers/steps.js";

async function onEach<T>(
  plan: Plan,
  hosts: Map<string, Remote>,
  fn: (node: string, r: Remote) => Promise<T>,
): Promise<T[]> {
  return Promise.all(plan.nodes.map((n) => fn(n.name, hosts.get(n.name) as Remote)));
}

describe("kubelab up on nspawn machines", () => {
  it("prepares 1 control plane + 2 workers; a second run changes nothing; faults and key changes are reported", async (t) => {
    if (!requireNspawn(t)) return;
    const { plan } = nspawnTestCluster("p");
    const pkgs = await buildTestPackages(plan);
    await withCluster(t, plan, async (cluster) => {
      const step = steps(t);
      const served = await serveDirectory(pkgs.aptDir, plan.network.gateway);
      t.after(served.close);
      const { lines, ...opts } = preparationOptions(pkgs, served.url, cluster.ctx.clusterDir);
      let hosts = new Map<string, Remote>();

      await step("the first up prepares every node", async () => {
        const first = await up(plan, opts);
        assert.ok(first.changes.length >= plan.nodes.length * 5, lines.join("\n"));
        t.diagnostic(
          `first up: ${first.changes.length} changes, e.g. ${first.changes
            .filter((c) => c.node === "worker-1")
            .map((c) => c.what)
            .join("; ")}`,
        );
      });

      await step("every node reads back as prepared: containerd, sysctls, modules, swap, hosts, packages", async () => {
        hosts = await connectAll(plan, cluster.machines, {
          clusterDir: opts.clusterDir,
          policy: hostKeyPolicy(),
          concurrency: 3,
        });
        t.after(() => Promise.all([...hosts.values()].map((h) => h.close())));
        await onEach(plan, hosts, async (node, r) => {
          const ip = plan.nodes.find((n) => n.name === node)?.ip;
          assert.match(await r.run(["containerd", "config", "dump"]), /SystemdCgroup = true/, node);
          assert.match(await r.run(["containerd", "--version"]), /v2\.3\.4/);
          assert.equal(await r.run(["systemctl", "is-active", "containerd"]), "active\n");
          assert.match((await r.readFile("/etc/sysctl.d/99-kubelab.conf")) ?? "", /net.ipv4.ip_forward = 1/);
          assert.equal((await r.run(["sysctl", "-n", "net.ipv4.ip_forward"])).trim(), "1");
          assert.match((await r.readFile("/etc/modules-load.d/kubelab.conf")) ?? "", /^br_netfilter$/m);
          assert.equal((await r.run(["tail", "-n", "+2", "/proc/swaps"])).trim(), "");
          const hostsFile = (await r.readFile("/etc/hosts")) ?? "";
          assert.match(hostsFile, /^127\.0\.0\.1\s+localhost/m);
          for (const n of plan.nodes)
            assert.match(hostsFile, new RegExp(`^${n.ip.replaceAll(".", "\\.")} ${n.name}$`, "m"));
          assert.equal((await r.readFile("/etc/default/kubelet"))?.trim(), `KUBELET_EXTRA_ARGS=--node-ip=${ip}`);
          assert.match(await r.run(["dpkg-query", "-W", "-f=${Version}", "kubeadm"]), /^1\.37\.2-1\.1$/);
          assert.deepEqual((await r.run(["apt-mark", "showhold"])).trim().split("\n").sort(), [
            "kubeadm",
            "kubectl",
            "kubelet",
          ]);
          assert.equal(await r.run(["hostname"]), `${node}\n`);
        });
      });

      await step("a second up changes nothing", async () => {
        const second = await up(plan, opts);
        assert.deepEqual(second.changes, [], "a second up on an unchanged plan changes nothing");
      });

      await step("a dry run names the one difference and changes nothing; up then makes it", async () => {
        const worker = hosts.get("worker-1") as Remote;
        await worker.run(["sed", "-i", "/# BEGIN kubelab/,/# END kubelab/d", "/etc/hosts"]);
        const dry = await up(plan, { ...opts, dryRun: true });
        assert.deepEqual(dry.changes, [{ node: "worker-1", what: "update /etc/hosts" }]);
        assert.doesNotMatch((await worker.readFile("/etc/hosts")) ?? "", /BEGIN kubelab/);
        assert.deepEqual((await up(plan, opts)).changes, [{ node: "worker-1", what: "update /etc/hosts" }]);
      });

      await step("worker-2 stopped mid-preparation is named, the others finish, the next up converges", async () => {
        await hosts
          .get("worker-2")
          ?.run(["rm", "-f", "/etc/sysctl.d/99-kubelab.conf", "/etc/modules-load.d/kubelab.conf"]);
        await hosts.get("master-1")?.run(["rm", "-f", "/etc/sysctl.d/99-kubelab.conf"]);
        const stopWorker: Phase = { title: "Stop worker-2", run: () => stopNode(plan, "worker-2", cluster.ctx) };
        const phases = [...PREPARE_PHASES.slice(0, 2), stopWorker, ...PREPARE_PHASES.slice(2)];
        await assert.rejects(up(plan, { ...opts, phases }), (e: Error) => {
          assert.match(e.message, /failed on 1 of 3 hosts/);
          assert.match(e.message, /worker-2/);
          assert.doesNotMatch(e.message, /master-1|worker-1/);
          return true;
        });
        assert.match(
          (await hosts.get("master-1")?.readFile("/etc/sysctl.d/99-kubelab.conf")) ?? "",
          /ip_forward/,
          "the other hosts finished their step",
        );
        await startNode(plan, "worker-2", cluster.ctx);
        const converge = await up(plan, opts);
        t.diagnostic(`after the fault: ${converge.changes.map((c) => `${c.node}: ${c.what}`).join("; ")}`);
        assert.deepEqual([...new Set(converge.changes.map((c) => c.node))], ["worker-2"]);
        assert.deepEqual((await up(plan, opts)).changes, []);
      });

      await step("a changed host key is refused, and accepted only when asked to", async () => {
        const master = hosts.get("master-1") as Remote;
        await master.run(["sh", "-c", "rm -f /etc/ssh/ssh_host_*; ssh-keygen -A; systemctl restart ssh"]);
        await assert.rejects(up(plan, opts), /host key for .*changed/);
        assert.deepEqual((await up(plan, { ...opts, acceptNewHostKeys: true })).changes, []);
      });
    });
  });
});
