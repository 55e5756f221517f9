/**
 * A second control plane's kubeadm join killed in its etcd step (as a Ctrl-C, a crash or a
 * sleeping laptop would leave it): the kubelet has registered the node, kubeadm added its etcd
 * member but never promoted or marked it. The next `up` sees that from the cluster itself,
 * takes the member out of etcd, resets the node and joins it once: two started voting members,
 * one Node each, the control-plane label, and the worker joined. Real nspawn machines, offline
 * bundle.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import { kubeConfig, listNodes } from "../../src/kube/client.js";
import { endpointHealth, memberList } from "../../src/phases/etcd.js";
import type { Remote } from "../../src/remote/types.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { cliScenario, connectNodes } from "../helpers/cli-scenario.js";
import { NO_ADDONS, nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";

const ETCD_MANIFEST = "/etc/kubernetes/manifests/etcd.yaml";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a control plane's kubeadm join interrupted in its etcd step", () => {
  it("the next up removes the stale etcd member, resets the node and joins it once", async (t) => {
    if (!requireNspawn(t)) return;
    const { raw, plan } = nspawnTestCluster("ij", { controlPlanes: 2, workers: 1 }, { addons: NO_ADDONS });
    const { dir, file, kubeconfig, hosts } = await cliScenario(t, "interrupted-join");
    await writeFile(file, stringify(raw));
    const bundle = join(dir, "bundle");
    if (!(await createTestBundle(t, plan, bundle))) return;
    const step = steps(t);

    await step("kubeadm join on master-2 is killed once it has added its etcd member; up fails naming it", async () => {
      const first = kubelab("up", "-f", file, "--bundle", bundle);
      let done = false;
      let killed = "";
      // Once master-2 answers, a loop on the node itself kills kubeadm the moment its etcd
      // step writes the static pod (the member was added just before).
      const watcher = (async () => {
        while (!done) {
          await sleep(1000);
          if (!hosts.has("master-2")) {
            await connectNodes(plan, { file, hosts }).catch(() => {});
            continue;
          }
          const r = await (hosts.get("master-2") as Remote).exec(
            [
              "timeout",
              "900",
              "sh",
              "-c",
              `until [ -e ${ETCD_MANIFEST} ]; do sleep 0.05; done; pkill -KILL -x kubeadm && echo killed`,
            ],
            { timeoutMs: 960_000 },
          );
          killed = r.stdout.trim();
          return;
        }
      })();
      const r = await first;
      done = true;
      await watcher;
      assert.equal(killed, "killed", "kubeadm was killed in its etcd step");
      assert.equal(r.code, 1, `${r.out}\n${r.err}`);
      assert.match(r.err, /master-2/);
    });

    await step("etcd holds master-2's member, never promoted or never started", async () => {
      const members = await memberList(hosts.get("master-1") as Remote);
      assert.equal(members.length, 2, JSON.stringify(members));
      const other = members.find((m) => m.name !== "master-1");
      assert.ok(other && (other.isLearner || !other.started), JSON.stringify(members));
    });

    await step("the next up takes it out of etcd, resets master-2 and joins it and the worker", async () => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      const logFile = /log: (\S+)\)/.exec(r.out)?.[1] ?? "";
      const log = await readFile(logFile, "utf8");
      assert.match(log, /master-2: kubeadm reset -f and kubeadm join again \(control-plane; it has kubelet\.conf but /);
      assert.match(log, /master-2: removing its etcd member \w+ left by the unfinished join/);
      assert.match(log, /worker-1: kubeadm join \(worker\)/);
    });

    await step("two started voting members, each node once, master-2 a control plane", async () => {
      const master = hosts.get("master-1") as Remote;
      const members = await memberList(master);
      assert.deepEqual(members.map((m) => m.name).sort(), ["master-1", "master-2"], JSON.stringify(members));
      assert.ok(
        members.every((m) => m.started && !m.isLearner),
        JSON.stringify(members),
      );
      const health = await endpointHealth(master);
      assert.equal(health.length, 2);
      assert.ok(
        health.every((h) => h.health),
        JSON.stringify(health),
      );
      const kc = kubeConfig(await readFile(kubeconfig, "utf8"));
      const nodes = await listNodes(kc);
      assert.deepEqual(nodes.map((n) => n.metadata?.name).sort(), ["master-1", "master-2", "worker-1"]);
      const m2 = nodes.find((n) => n.metadata?.name === "master-2");
      assert.ok("node-role.kubernetes.io/control-plane" in (m2?.metadata?.labels ?? {}), "master-2 is marked");
    });

    await step("another up changes nothing", async () => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /3 nodes joined, 0 changes made/);
    });
  });
});
