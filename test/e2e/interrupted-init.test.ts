/**
 * kubeadm init interrupted at its wait for the control plane (killed, as a Ctrl-C, a crash or a
 * sleeping laptop would leave it): admin.conf is there but the cluster was never finished. The
 * next `up` sees that from the cluster itself, resets the control plane and makes a working
 * cluster: kubeadm's last objects (kubeadm-config, cluster-info, CoreDNS, kube-proxy) exist and
 * the worker joins. Real nspawn machines, offline bundle.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { kubeConfig, listNodes } from "../../src/kube/client.js";
import { ADMIN_CONF } from "../../src/phases/kubeadm.js";
import type { Remote } from "../../src/remote/types.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { cliScenario, connectNodes } from "../helpers/cli-scenario.js";
import { NO_ADDONS, nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";

// The kubelet's configuration is the last file kubeadm writes before it waits for the control plane.
const KUBELET_CONFIG = "/var/lib/kubelet/config.yaml";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("kubeadm init interrupted at its wait", () => {
  it("the next up resets the unfinished control plane and finishes a working cluster", async (t) => {
    if (!requireNspawn(t)) return;
    const { raw, plan } = nspawnTestCluster("ii", { workers: 1 }, { addons: NO_ADDONS });
    const { dir, file, kubeconfig, hosts } = await cliScenario(t, "interrupted-init");
    await writeFile(file, stringify(raw));
    const bundle = join(dir, "bundle");
    if (!(await createTestBundle(t, plan, bundle))) return;
    const step = steps(t);

    await step("kubeadm init is killed once it waits for the control plane; up fails naming it", async () => {
      const first = kubelab("up", "-f", file, "--bundle", bundle);
      let killed = false;
      // Watch master-1 from the side while up works: once kubeadm has written admin.conf and
      // the kubelet's configuration, it is in its wait; kill it there.
      const watcher = (async () => {
        for (let i = 0; i < 600 && !killed; i++) {
          await sleep(500);
          const master = hosts.get("master-1");
          if (!master) {
            // Not connected yet: the machines may not exist or answer yet.
            await connectNodes(plan, { file, hosts }).catch(() => {});
            continue;
          }
          const ready = (await master.exec(["test", "-f", ADMIN_CONF])).code === 0;
          const manifest = (await master.exec(["test", "-f", KUBELET_CONFIG])).code === 0;
          if (ready && manifest) {
            await master.exec(["pkill", "-KILL", "-x", "kubeadm"]);
            killed = true;
          }
        }
      })();
      const r = await first;
      killed = true;
      await watcher;
      assert.equal(r.code, 1, `${r.out}\n${r.err}`);
      assert.match(r.err, /master-1: `kubeadm init --config/);
    });

    await step("the cluster shows init unfinished: no kubeadm-config yet", async () => {
      const master = hosts.get("master-1") as Remote;
      assert.equal((await master.exec(["test", "-f", ADMIN_CONF])).code, 0, "admin.conf was left behind");
    });

    await step("the next up resets it, runs init again and joins the worker", async () => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      const logFile = /log: (\S+)\)/.exec(r.out)?.[1] ?? "";
      const log = await readFile(logFile, "utf8");
      assert.match(log, /master-1: kubeadm reset -f and kubeadm init again \(kubeadm init did not finish: missing /);
      assert.match(log, /worker-1: kubeadm join \(worker\)/);
    });

    await step("kubeadm's last objects exist and both nodes are registered", async () => {
      const kc = kubeConfig(await readFile(kubeconfig, "utf8"));
      const core = kc.makeApiClient(CoreV1Api);
      const apps = kc.makeApiClient(AppsV1Api);
      await core.readNamespacedConfigMap({ name: "kubeadm-config", namespace: "kube-system" });
      await core.readNamespacedConfigMap({ name: "cluster-info", namespace: "kube-public" });
      await apps.readNamespacedDeployment({ name: "coredns", namespace: "kube-system" });
      await apps.readNamespacedDaemonSet({ name: "kube-proxy", namespace: "kube-system" });
      assert.deepEqual((await listNodes(kc)).map((n) => n.metadata?.name).sort(), ["master-1", "worker-1"]);
    });

    await step("a third up changes nothing", async () => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /2 nodes joined, 0 changes made/);
    });
  });
});
