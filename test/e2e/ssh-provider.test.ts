/**
 * A whole cluster on the ssh provider: existing hosts (nspawn machines made beforehand,
 * reached with their key as any existing host would be), two control planes and a worker,
 * `up --bundle` with Kubernetes built here (the second control plane joins with the
 * uploaded certificates), a second `up` that changes nothing, and `down`, which resets
 * Kubernetes on the hosts (kubeadm reset) and leaves the hosts themselves running.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import { kubeConfig, listNodes, poll } from "../../src/kube/client.js";
import { clusterPaths } from "../../src/plan/cluster-dir.js";
import { nspawnProvider } from "../../src/providers/nspawn/provider.js";
import { connectAll, hostKeyPolicy } from "../../src/remote/connect-all.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { NO_ADDONS, nspawnTestCluster, requireNspawn, withCluster } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";
import { stateHome } from "../helpers/tmp.js";

describe("the ssh provider on existing hosts", () => {
  it("up --bundle makes a two-control-plane cluster on them; up again changes nothing; down resets it and keeps the hosts", async (t) => {
    if (!requireNspawn(t)) return;
    const { raw, plan } = nspawnTestCluster("s", { controlPlanes: 2, workers: 1 }, { addons: NO_ADDONS });
    await withCluster(t, plan, async (machines) => {
      const dir = await mkdtemp(join(tmpdir(), "kubelab-ssh-e2e-"));
      const kubeconfig = join(dir, "user-kubeconfig");
      await stateHome(t);
      const savedEnv = process.env.KUBECONFIG;
      process.env.KUBECONFIG = kubeconfig;
      t.after(async () => {
        if (savedEnv === undefined) delete process.env.KUBECONFIG;
        else process.env.KUBECONFIG = savedEnv;
        await rm(dir, { recursive: true, force: true });
      });
      const bundle = join(dir, "bundle");
      if (!(await createTestBundle(t, plan, bundle))) return;

      // The same nodes, described as existing hosts.
      const key = clusterPaths(machines.ctx.clusterDir).key;
      const file = join(dir, "kubelab.yaml");
      await writeFile(
        file,
        stringify({
          ...raw,
          provider: {
            name: "ssh",
            hosts: plan.nodes.map((n) => ({ node: n.name, address: n.ip, user: "root", key })),
          },
        }),
      );

      const step = steps(t);

      await step("up --bundle makes the cluster on the existing hosts, two control planes and a worker", async () => {
        const first = await kubelab("up", "-f", file, "--bundle", bundle);
        assert.equal(first.code, 0, `${first.out}\n${first.err}`);
        assert.match(first.out, new RegExp(`cluster ${plan.name}: 3 nodes joined`));
        assert.doesNotMatch(first.err, /Create machines/, "existing hosts are not created");
        const kc = kubeConfig(await readFile(kubeconfig, "utf8"));
        const nodes = await listNodes(kc);
        assert.deepEqual(nodes.map((n) => n.metadata?.name).sort(), ["master-1", "master-2", "worker-1"]);
        const controlPlanes = nodes.filter(
          (n) => "node-role.kubernetes.io/control-plane" in (n.metadata?.labels ?? {}),
        );
        assert.deepEqual(controlPlanes.map((n) => n.metadata?.name).sort(), ["master-1", "master-2"]);
      });

      await step("master-2 runs its own API server and etcd member", async () => {
        const ctl = await connectAll(plan, await nspawnProvider.list(plan, machines.ctx), {
          clusterDir: machines.ctx.clusterDir,
          policy: hostKeyPolicy(),
          concurrency: 3,
        });
        try {
          const m2 = ctl.get("master-2");
          assert.ok(m2);
          assert.match(await m2.run(["ls", "/etc/kubernetes/manifests"]), /etcd\.yaml\n.*kube-apiserver\.yaml/s);
          // Mirror pods of static pods appear once each kubelet has synced: wait for both members.
          await poll(
            "etcd pods on both control planes",
            async () => {
              const out = await m2.run([
                "kubectl",
                "--kubeconfig",
                "/etc/kubernetes/admin.conf",
                "-n",
                "kube-system",
                "get",
                "pods",
                "-l",
                "component=etcd",
                "-o",
                "name",
              ]);
              const names = out.trim().split("\n").sort();
              return names.join() === "pod/etcd-master-1,pod/etcd-master-2"
                ? { done: true, value: names }
                : { done: false, pending: names.join(", ") };
            },
            { timeoutMs: 120_000 },
          );
        } finally {
          await Promise.all([...ctl.values()].map((h) => h.close()));
        }
      });

      await step("up again changes nothing", async () => {
        const again = await kubelab("up", "-f", file, "--bundle", bundle);
        assert.equal(again.code, 0, again.err);
        assert.match(again.out, /0 changes made/);
      });

      await step("down needs --force, then resets Kubernetes on every host", async () => {
        const refused = await kubelab("down", "-f", file);
        assert.equal(refused.code, 2, "without a terminal, down needs --force");
        const down = await kubelab("down", "-f", file, "--force");
        assert.equal(down.code, 0, down.err);
        assert.match(
          down.out,
          /kubeadm reset on worker-1, master-1, master-2; the hosts stay; context kubelab-\S+ removed/,
        );
      });

      await step("the hosts still run, with no cluster left on them", async () => {
        const list = await nspawnProvider.list(plan, machines.ctx);
        assert.deepEqual(
          list.map((m) => m.state),
          ["running", "running", "running"],
        );
        const hosts = await connectAll(plan, list, {
          clusterDir: machines.ctx.clusterDir,
          policy: hostKeyPolicy(),
          concurrency: 3,
        });
        t.after(() => Promise.all([...hosts.values()].map((h) => h.close())));
        for (const [node, remote] of hosts) {
          // kubeadm reset leaves the directories; no kubeconfig and no static pod may remain.
          const left = await remote.run([
            "find",
            "/etc/kubernetes",
            "-maxdepth",
            "2",
            "(",
            "-name",
            "*.conf",
            "-o",
            "-path",
            "/etc/kubernetes/manifests/*",
            ")",
          ]);
          assert.equal(left.trim(), "", `${node}: ${left}`);
        }
        assert.doesNotMatch(await readFile(kubeconfig, "utf8"), /kubelab-/);
      });
    });
  });
});
