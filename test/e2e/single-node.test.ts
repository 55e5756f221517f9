/**
 * A lab of one control plane and no workers runs pods, as kind's single node does: the plan
 * says so, kubeadm registers the node without the control-plane NoSchedule taint, and the
 * scheduler puts a pod with no tolerations on it. Real nspawn machine, offline bundle.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CoreV1Api, type KubeConfig, type V1Node } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { kubeConfig, listNodes, poll, waitNodes } from "../../src/kube/client.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { cliScenario, connectNodes } from "../helpers/cli-scenario.js";
import { NO_ADDONS, nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";
import { installTestCni } from "../helpers/test-cni.js";

describe("one control plane and no workers", () => {
  it("the plan says pods run on the control plane; a pod without tolerations runs there", async (t) => {
    if (!requireNspawn(t)) return;
    const { raw, plan } = nspawnTestCluster("one", { workers: 0 }, { addons: NO_ADDONS });
    const { dir, file, kubeconfig, hosts } = await cliScenario(t, "single-node");
    await writeFile(file, stringify(raw));
    const bundle = join(dir, "bundle");
    if (!(await createTestBundle(t, plan, bundle))) return;
    const step = steps(t);
    let kc: KubeConfig;
    let nodes: V1Node[];

    await step("plan says the control plane runs pods", async () => {
      const r = await kubelab("plan", "-f", file);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /pods run on the control plane: no workers/);
    });

    await step("up makes the cluster; the node carries no control-plane taint", async () => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      kc = kubeConfig(await readFile(kubeconfig, "utf8"));
      nodes = await listNodes(kc);
      assert.deepEqual(
        nodes.map((n) => n.metadata?.name),
        ["master-1"],
      );
      const taints = (nodes[0]?.spec?.taints ?? []).map((x) => x.key);
      assert.ok(!taints.includes("node-role.kubernetes.io/control-plane"), `taints: ${taints.join(", ")}`);
    });

    await step("with a pod network the node is Ready and a pod with no tolerations runs on it", async () => {
      await connectNodes(plan, { file, hosts });
      // The controller-manager gives the node its pod range shortly after it registers.
      nodes = await poll(
        "master-1's podCIDR",
        async () => {
          const now = await listNodes(kc);
          return now[0]?.spec?.podCIDR ? { done: true, value: now } : { done: false, pending: "no podCIDR yet" };
        },
        { timeoutMs: 60_000 },
      );
      await installTestCni(plan, hosts, nodes);
      await waitNodes(kc, ["master-1"], { ready: true, timeoutMs: 240_000 });
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespacedPod({
        namespace: "default",
        body: {
          metadata: { name: "hello" },
          spec: {
            containers: [{ name: "pause", image: plan.kubernetes.images.pause, imagePullPolicy: "Never" }],
          },
        },
      });
      const where = await poll(
        "pod hello Running",
        async () => {
          const pod = await core.readNamespacedPod({ name: "hello", namespace: "default" });
          return pod.status?.phase === "Running"
            ? { done: true, value: pod.spec?.nodeName }
            : {
                done: false,
                pending: `phase ${pod.status?.phase}: ${pod.status?.conditions?.map((c) => `${c.type}=${c.status} ${c.message ?? ""}`).join("; ")}`,
              };
        },
        { timeoutMs: 180_000 },
      );
      assert.equal(where, "master-1");
    });
  });
});
