/**
 * `kubelab snapshot` on an nspawn lab: what is made after `snapshot save s1` (a Deployment, a
 * changed ConfigMap, a file deleted on a node's disk) is undone by `snapshot restore s1`,
 * what was there before is back with its data, the kubeconfig works, doctor passes; list
 * shows s1 and delete removes it. Reports the save and restore times and the snapshot's disk
 * use. Real nspawn machines (1 control plane + 1 worker), offline bundle, the test pod network.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Deployment } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { snapshotsDir } from "../../src/cluster/snapshot.js";
import type { CheckResult } from "../../src/doctor/types.js";
import { kubeConfig, listNodes } from "../../src/kube/client.js";
import { waitWorkloads } from "../../src/kube/ready.js";
import { clusterDir, clusterPaths } from "../../src/plan/cluster-dir.js";
import { snapshotsRoot } from "../../src/providers/nspawn/snapshots.js";
import type { Remote } from "../../src/remote/types.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { cliScenario, connectNodes } from "../helpers/cli-scenario.js";
import { NO_ADDONS, nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";
import { readyWithTestCni } from "../helpers/test-cni.js";

const NS = "snap";
/** A file on the worker's own disk, outside anything Kubernetes manages. */
const NODE_FILE = "/var/lib/kubelab-snapshot-e2e";

describe("kubelab snapshot save and restore", () => {
  it("restore undoes everything after the snapshot, on the API and on the nodes' disks", async (t) => {
    if (!requireNspawn(t)) return;
    const { raw, plan } = nspawnTestCluster("sn", { workers: 1 }, { addons: NO_ADDONS });
    const scenario = await cliScenario(t, "snapshot");
    const { dir, file, kubeconfig, hosts } = scenario;
    await writeFile(file, stringify(raw));
    const bundle = join(dir, "bundle");
    if (!(await createTestBundle(t, plan, bundle))) return;
    const cdir = clusterDir(plan, file);
    const step = steps(t);
    let kc: KubeConfig;
    const worker = () => hosts.get("worker-1") as Remote;
    const reconnect = async () => {
      await Promise.all([...hosts.values()].map((h) => h.close().catch(() => {})));
      hosts.clear();
      await connectNodes(plan, scenario);
    };
    const deployment = (name: string): V1Deployment => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace: NS },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            // Pods on the control plane too (a 1+1 lab): the workload spans both nodes.
            tolerations: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }],
            containers: [{ name: "pause", image: plan.kubernetes.images.pause, imagePullPolicy: "Never" }],
          },
        },
      },
    });
    const create = async (name: string) => {
      const d = deployment(name);
      await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace: NS, body: d });
      await waitWorkloads(kc, [d], { timeoutMs: 180_000 });
    };
    let saveSeconds = 0;

    await step("up, a pod network, Deployment a, a ConfigMap, a file on the worker's disk", async () => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      kc = kubeConfig(await readFile(kubeconfig, "utf8"));
      await connectNodes(plan, scenario);
      await readyWithTestCni(plan, hosts, kc);
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: NS } } });
      await core.createNamespacedConfigMap({
        namespace: NS,
        body: { metadata: { name: "cm" }, data: { v: "before" } },
      });
      await create("a");
      await worker().run(["sh", "-c", `echo before > ${NODE_FILE}`]);
    });

    await step("snapshot save s1: the lab is running again after it", async () => {
      // The machines stop for the copy: these connections would not survive it.
      await Promise.all([...hosts.values()].map((h) => h.close().catch(() => {})));
      hosts.clear();
      const started = Date.now();
      const r = await kubelab("snapshot", "save", "s1", "-f", file, "-o", "json");
      saveSeconds = (Date.now() - started) / 1000;
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      const m = JSON.parse(r.out) as { name: string; started: boolean; etcd?: { revision: number }; files: string[] };
      assert.equal(m.name, "s1");
      assert.equal(m.started, true);
      assert.ok((m.etcd?.revision ?? 0) > 0, r.out);
      assert.ok(m.files.includes("kubeconfig") && m.files.includes("known_hosts"), r.out);
      assert.ok(existsSync(join(snapshotsDir(cdir), "s1", "etcd.db")));
      for (const n of plan.nodes) assert.ok(existsSync(join(snapshotsRoot(plan.name), "s1", n.name, "rootfs", "etc")));
      const nodes = await listNodes(kc);
      assert.equal(nodes.length, 2);
      await reconnect();
    });

    await step("after the snapshot: Deployment b, the ConfigMap changed, the node's file deleted", async () => {
      await create("b");
      await kc.makeApiClient(CoreV1Api).replaceNamespacedConfigMap({
        name: "cm",
        namespace: NS,
        body: { metadata: { name: "cm", namespace: NS }, data: { v: "after" } },
      });
      await worker().run(["rm", "-f", NODE_FILE]);
    });

    await step(
      "snapshot restore s1 --force: a is there, b is gone, the ConfigMap and the file as they were",
      async () => {
        await Promise.all([...hosts.values()].map((h) => h.close().catch(() => {})));
        hosts.clear();
        const started = Date.now();
        const r = await kubelab("snapshot", "restore", "s1", "-f", file, "--force", "-o", "json");
        const restoreSeconds = (Date.now() - started) / 1000;
        assert.equal(r.code, 0, `${r.out}\n${r.err}`);
        assert.match(r.err, /everything written on any node since/);
        assert.equal((JSON.parse(r.out) as { ready: boolean }).ready, true);
        // The cluster directory's kubeconfig (put back by the restore) reaches the API.
        kc = kubeConfig(await readFile(clusterPaths(cdir).kubeconfig, "utf8"));
        const apps = kc.makeApiClient(AppsV1Api);
        const a = await apps.readNamespacedDeployment({ name: "a", namespace: NS });
        assert.equal(a.status?.availableReplicas, 2, JSON.stringify(a.status));
        await assert.rejects(apps.readNamespacedDeployment({ name: "b", namespace: NS }), /404|not found/i);
        const cm = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: "cm", namespace: NS });
        assert.equal(cm.data?.v, "before");
        await reconnect();
        assert.equal((await worker().run(["cat", NODE_FILE])).trim(), "before");
        const du = execFileSync("du", ["-sk", join(snapshotsRoot(plan.name), "s1"), join(snapshotsDir(cdir), "s1")])
          .toString()
          .trim()
          .split("\n")
          .map((l) => Number.parseInt(l, 10));
        t.diagnostic(
          `snapshot save ${saveSeconds.toFixed(1)} s, restore ${restoreSeconds.toFixed(1)} s; disk: nodes ${((du[0] ?? 0) / 1024).toFixed(0)} MiB, kubelab's files ${du[1] ?? 0} KiB`,
        );
      },
    );

    await step("doctor passes on the restored lab", async () => {
      const r = await kubelab("doctor", "-f", file, "-o", "json");
      const failed = (JSON.parse(r.out) as { results: CheckResult[] }).results.filter((c) => c.verdict === "fail");
      assert.equal(r.code, 0, JSON.stringify(failed, null, 2));
    });

    await step("snapshot list shows s1; snapshot delete removes it, nodes' copies and all", async () => {
      const l = await kubelab("snapshot", "list", "-f", file, "-o", "json");
      assert.equal(l.code, 0, l.err);
      assert.deepEqual(
        (JSON.parse(l.out) as { snapshots: { name: string }[] }).snapshots.map((s) => s.name),
        ["s1"],
      );
      const d = await kubelab("snapshot", "delete", "s1", "-f", file);
      assert.equal(d.code, 0, `${d.out}\n${d.err}`);
      assert.equal(existsSync(join(snapshotsRoot(plan.name), "s1")), false);
      assert.equal(existsSync(join(snapshotsDir(cdir), "s1")), false);
      const after = await kubelab("snapshot", "list", "-f", file);
      assert.match(after.out, /has no snapshots/);
    });
  });
});
