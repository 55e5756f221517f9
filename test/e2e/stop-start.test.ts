/**
 * `kubelab stop` and `kubelab start` across what a host reboot does to an nspawn lab: the
 * machines are stopped (status says so), the lab's bridge is deleted as a reboot loses it,
 * and `start` brings everything back: the bridge, the nodes at the same addresses, every node
 * Ready, and the user's Deployment and ConfigMap. Real nspawn machines (1 control plane + 1
 * worker), offline bundle, the test pod network.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AppsV1Api, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { kubeConfig, listNodes, waitNodes } from "../../src/kube/client.js";
import { waitWorkloads } from "../../src/kube/ready.js";
import { clusterDir } from "../../src/plan/cluster-dir.js";
import { bridgeName, linkExists } from "../../src/providers/nspawn/network.js";
import { nspawnProvider } from "../../src/providers/nspawn/provider.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { cliScenario, connectNodes } from "../helpers/cli-scenario.js";
import { NO_ADDONS, nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";
import { readyWithTestCni } from "../helpers/test-cni.js";

const NS = "keep";

/** Each node's InternalIP as its Node object has it. */
async function internalIps(kc: KubeConfig): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const n of await listNodes(kc))
    out[n.metadata?.name ?? ""] = n.status?.addresses?.find((a) => a.type === "InternalIP")?.address ?? "";
  return out;
}

describe("kubelab stop, a host reboot, kubelab start", () => {
  it("stops the machines, and start brings back the bridge, the addresses, Ready nodes and the workload", async (t) => {
    if (!requireNspawn(t)) return;
    const { raw, plan } = nspawnTestCluster("ss", { workers: 1 }, { addons: NO_ADDONS });
    const { dir, file, kubeconfig, hosts } = await cliScenario(t, "stop-start");
    await writeFile(file, stringify(raw));
    const bundle = join(dir, "bundle");
    if (!(await createTestBundle(t, plan, bundle))) return;
    const pctx = { clusterDir: clusterDir(plan, file), log: () => {} };
    const bridge = bridgeName(plan.name);
    const step = steps(t);
    let kc: KubeConfig;
    let addresses: Record<string, string> = {};

    await step("up, a pod network, a Deployment and a ConfigMap", async () => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      kc = kubeConfig(await readFile(kubeconfig, "utf8"));
      await connectNodes(plan, { file, hosts });
      await readyWithTestCni(plan, hosts, kc);
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: NS } } });
      await core.createNamespacedConfigMap({
        namespace: NS,
        body: { metadata: { name: "kept" }, data: { answer: "42" } },
      });
      const deployment = {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "sleeper", namespace: NS },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "sleeper" } },
          template: {
            metadata: { labels: { app: "sleeper" } },
            spec: {
              // Pods on the control plane too (a 1+1 lab): the workload spans both nodes.
              tolerations: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }],
              containers: [{ name: "pause", image: plan.kubernetes.images.pause, imagePullPolicy: "Never" }],
            },
          },
        },
      };
      await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace: NS, body: deployment });
      await waitWorkloads(kc, [deployment], { timeoutMs: 180_000 });
      addresses = await internalIps(kc);
      assert.deepEqual(addresses, Object.fromEntries(plan.nodes.map((n) => [n.name, n.ip])));
    });

    await step("kubelab stop: every machine stopped, and status says so", async () => {
      // The connections would outlive nothing: the machines go down.
      await Promise.all([...hosts.values()].map((h) => h.close().catch(() => {})));
      hosts.clear();
      const r = await kubelab("stop", "-f", file, "-o", "json");
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      const stopped = JSON.parse(r.out) as { nodes: { node: string; machine: string }[] };
      assert.deepEqual(
        stopped.nodes.map((n) => [n.node, n.machine]),
        [
          ["master-1", "stopped"],
          ["worker-1", "stopped"],
        ],
      );
      assert.deepEqual(
        (await nspawnProvider.list(plan, pctx)).map((m) => m.state),
        ["stopped", "stopped"],
      );
      const s = await kubelab("status", "-f", file, "-o", "json");
      assert.equal(s.code, 0, s.err);
      assert.deepEqual(
        (JSON.parse(s.out) as { nodes: { machine: string }[] }).nodes.map((n) => n.machine),
        ["stopped", "stopped"],
      );
    });

    await step("a host reboot: the lab's bridge is gone", async () => {
      execFileSync("ip", ["link", "delete", "dev", bridge]);
      assert.equal(await linkExists(bridge), false);
    });

    await step(
      "kubelab start: the bridge back, the nodes at their addresses and Ready, the workload back",
      async () => {
        const r = await kubelab("start", "-f", file, "-o", "json");
        assert.equal(r.code, 0, `${r.out}\n${r.err}`);
        const started = JSON.parse(r.out) as { ready: boolean; nodes: { machine: string }[] };
        assert.equal(started.ready, true);
        assert.deepEqual(
          started.nodes.map((n) => n.machine),
          ["running", "running"],
        );
        assert.equal(await linkExists(bridge), true);
        await waitNodes(
          kc,
          plan.nodes.map((n) => n.name),
          { ready: true, timeoutMs: 10_000 },
        );
        assert.deepEqual(await internalIps(kc), addresses);
        const cm = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: "kept", namespace: NS });
        assert.equal(cm.data?.answer, "42");
        const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: "sleeper", namespace: NS });
        assert.equal(d.status?.availableReplicas, 2, JSON.stringify(d.status));
      },
    );

    await step("a second start changes nothing and succeeds", async () => {
      const r = await kubelab("start", "-f", file);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      assert.match(r.out, /cluster \S+: back, every node Ready/);
    });
  });
});
