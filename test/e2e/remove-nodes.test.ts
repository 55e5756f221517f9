/**
 * Nodes taken out of the cluster file: a cluster of two control planes and two workers on real
 * nspawn machines runs a Deployment (2 replicas, a PodDisruptionBudget); the file then loses
 * worker-2 and master-2. `plan` and `up --dry-run` list them to remove, `up` without --prune
 * (and without a terminal) leaves them with a warning, `up --prune` drains and removes them:
 * etcd keeps master-1's member alone, the Deployment runs on the nodes left, the Node objects,
 * the machines and their host keys are gone, and a second `up` changes nothing.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AppsV1Api, CoreV1Api, type KubeConfig, PolicyV1Api, type V1Node } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { kubeConfig, listNodes, poll, waitNodes } from "../../src/kube/client.js";
import { memberList } from "../../src/phases/etcd.js";
import { readAppliedNodes } from "../../src/plan/applied-nodes.js";
import { clusterDir, clusterPaths } from "../../src/plan/cluster-dir.js";
import { nspawnProvider } from "../../src/providers/nspawn/provider.js";
import type { Remote } from "../../src/remote/types.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { cliScenario, connectNodes } from "../helpers/cli-scenario.js";
import { NO_ADDONS, nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";
import { installTestCni } from "../helpers/test-cni.js";

const ALL = ["master-1", "master-2", "worker-1", "worker-2"];
const LEFT = ["master-1", "worker-1"];
const GONE = ["worker-2", "master-2"];
const names = (nodes: readonly V1Node[]) => nodes.map((n) => n.metadata?.name ?? "").sort();

describe("removing nodes taken out of the cluster file", () => {
  it("up --prune drains and removes a worker and the second control plane; without it they stay", async (t) => {
    if (!requireNspawn(t)) return;
    const { raw, plan } = nspawnTestCluster("rm", { controlPlanes: 2, workers: 2 }, { addons: NO_ADDONS });
    const { dir, file, kubeconfig, hosts } = await cliScenario(t, "remove-nodes");
    await writeFile(file, stringify(raw));
    const bundle = join(dir, "bundle");
    if (!(await createTestBundle(t, plan, bundle))) return;
    const cdir = clusterDir(plan, file);
    const ipOf = (name: string) => plan.nodes.find((n) => n.name === name)?.ip ?? "";
    const step = steps(t);
    let kc: KubeConfig;

    await step("up makes two control planes and two workers, and records them", async () => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      kc = kubeConfig(await readFile(kubeconfig, "utf8"));
      assert.deepEqual(names(await listNodes(kc)), ALL);
      assert.deepEqual((await readAppliedNodes(cdir)).map((n) => n.name).sort(), ALL);
    });

    await step(
      "with a pod network every node is Ready; a Deployment of 2 and its budget run on the workers",
      async () => {
        await connectNodes(plan, { file, hosts });
        // The controller-manager gives each node its pod range shortly after it registers.
        const nodes = await poll(
          "every node's podCIDR",
          async () => {
            const now = await listNodes(kc);
            const missing = now.filter((n) => !n.spec?.podCIDR).map((n) => n.metadata?.name);
            return now.length === ALL.length && missing.length === 0
              ? { done: true, value: now }
              : { done: false, pending: `no podCIDR yet: ${missing.join(", ")}` };
          },
          { timeoutMs: 120_000 },
        );
        await installTestCni(plan, hosts, nodes);
        await waitNodes(kc, ALL, { ready: true, timeoutMs: 240_000 });
        const labels = { app: "web" };
        await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
          namespace: "default",
          body: {
            metadata: { name: "web" },
            spec: {
              replicas: 2,
              selector: { matchLabels: labels },
              template: {
                metadata: { labels },
                spec: {
                  // One on each worker while there are two: draining worker-2 has a pod to evict.
                  affinity: {
                    podAntiAffinity: {
                      preferredDuringSchedulingIgnoredDuringExecution: [
                        {
                          weight: 100,
                          podAffinityTerm: {
                            labelSelector: { matchLabels: labels },
                            topologyKey: "kubernetes.io/hostname",
                          },
                        },
                      ],
                    },
                  },
                  terminationGracePeriodSeconds: 1,
                  containers: [{ name: "pause", image: plan.kubernetes.images.pause, imagePullPolicy: "Never" }],
                },
              },
            },
          },
        });
        await kc.makeApiClient(PolicyV1Api).createNamespacedPodDisruptionBudget({
          namespace: "default",
          body: { metadata: { name: "web" }, spec: { minAvailable: 1, selector: { matchLabels: labels } } },
        });
        const where = await webPods(kc, ["worker-1", "worker-2"]);
        assert.deepEqual(where, ["worker-1", "worker-2"]);
      },
    );

    await step("the file without worker-2 and master-2: plan and up --dry-run list them to remove", async () => {
      // The nodes that stay keep their addresses: written down, as a count would shift them.
      const smaller = {
        ...raw,
        nodes: [
          { name: "master-1", role: "control-plane", ip: ipOf("master-1") },
          { name: "worker-1", role: "worker", ip: ipOf("worker-1") },
        ],
      };
      await writeFile(file, stringify(smaller));
      const p = await kubelab("plan", "-f", file, "-o", "json");
      assert.equal(p.code, 0, p.err);
      assert.deepEqual(
        JSON.parse(p.out).toRemove.map((n: { name: string }) => n.name),
        GONE,
      );
      const d = await kubelab("up", "-f", file, "--bundle", bundle, "--dry-run", "-o", "json");
      assert.equal(d.code, 0, `${d.out}\n${d.err}`);
      assert.deepEqual(JSON.parse(d.out).toRemove, GONE);
      assert.match(d.err, /worker-2, master-2: no longer in the cluster file, to remove: kubelab up --prune/);
    });

    await step("up without --prune and without a terminal leaves them, with a warning naming them", async () => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      assert.match(
        r.err,
        /warning: worker-2, master-2 are no longer in the cluster file but still in the cluster: left as they are; kubelab up --prune drains and removes them/,
      );
      assert.deepEqual(names(await listNodes(kc)), ALL);
      const machines = await nspawnProvider.list(plan, { clusterDir: cdir, log: () => {} });
      assert.deepEqual(
        machines.filter((m) => GONE.includes(m.node)).map((m) => m.state),
        ["running", "running"],
      );
    });

    await step("up --prune drains and removes them", async () => {
      // Closed first: a connection to a machine that is gone never finishes closing.
      for (const node of GONE) {
        await hosts.get(node)?.close();
        hosts.delete(node);
      }
      const r = await kubelab("up", "-f", file, "--bundle", bundle, "--prune");
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      assert.match(r.out, /removed worker-2, master-2 \(no longer in the cluster file\)/);
      const log = await readFile(/log: (\S+)\)/.exec(r.out)?.[1] ?? "", "utf8");
      assert.match(log, /worker-2: evicted default\/web-/);
      assert.ok(log.indexOf("worker-2: drain") < log.indexOf("master-2: drain"), "the worker goes first");
    });

    await step(
      "etcd has master-1's member alone; the Node objects are gone; the Deployment runs on the nodes left",
      async () => {
        const members = await memberList(hosts.get("master-1") as Remote);
        assert.deepEqual(
          members.map((m) => m.name),
          ["master-1"],
        );
        assert.deepEqual(names(await listNodes(kc)), LEFT);
        assert.deepEqual(await webPods(kc, LEFT), ["worker-1", "worker-1"]);
      },
    );

    await step("the machines are gone, and their host keys and their entries in the record", async () => {
      const machines = await nspawnProvider.list(plan, { clusterDir: cdir, log: () => {} });
      assert.deepEqual(
        machines.filter((m) => GONE.includes(m.node)).map((m) => m.state),
        ["absent", "absent"],
      );
      const known = await readFile(clusterPaths(cdir).knownHosts, "utf8");
      for (const node of GONE)
        assert.ok(!known.split("\n").some((l) => l.startsWith(`${ipOf(node)} `)), `${node}'s host keys: ${known}`);
      assert.deepEqual((await readAppliedNodes(cdir)).map((n) => n.name).sort(), LEFT);
    });

    await step("up again changes nothing and warns of nothing", async () => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      assert.match(r.out, /2 nodes joined, 0 changes made/);
      assert.doesNotMatch(r.err, /no longer in the cluster file/);
    });
  });
});

/**
 * webPods waits until the Deployment has its 2 replicas available, every pod running on one
 * of `on` (none terminating), and returns their nodes, sorted.
 */
async function webPods(kc: KubeConfig, on: readonly string[]): Promise<string[]> {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  return poll(
    "Deployment web: 2 available",
    async () => {
      const d = await apps.readNamespacedDeployment({ name: "web", namespace: "default" });
      const pods = (await core.listNamespacedPod({ namespace: "default", labelSelector: "app=web" })).items;
      const running = pods.filter((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp);
      const nodes = running.map((p) => p.spec?.nodeName ?? "").sort();
      const ok = (d.status?.availableReplicas ?? 0) === 2 && pods.length === 2 && nodes.every((n) => on.includes(n));
      return ok
        ? { done: true, value: nodes }
        : {
            done: false,
            pending: `${d.status?.availableReplicas ?? 0} available; pods: ${pods.map((p) => `${p.metadata?.name} ${p.status?.phase} on ${p.spec?.nodeName}`).join(", ")}`,
          };
    },
    { timeoutMs: 180_000 },
  );
}
