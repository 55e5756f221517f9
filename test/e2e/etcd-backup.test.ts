/**
 * `kubelab etcd backup` and `kubelab etcd restore` on a lab of one control plane: the
 * snapshot lands on this host with mode 0600 (also over a file that was readable by anyone),
 * checked with etcdutl, and the node keeps no copy; a namespace deleted after the backup is
 * back after the restore, and the cluster takes writes again. Real nspawn machine, offline
 * bundle, the test pod network (restore waits for Ready nodes).
 */
import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { kubeConfig, poll } from "../../src/kube/client.js";
import type { Remote } from "../../src/remote/types.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { cliScenario, connectNodes } from "../helpers/cli-scenario.js";
import { NO_ADDONS, nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";
import { readyWithTestCni } from "../helpers/test-cni.js";

const NS = "doomed";

describe("kubelab etcd backup and restore", () => {
  it("a namespace deleted after the backup is back after the restore", async (t) => {
    if (!requireNspawn(t)) return;
    const { raw, plan } = nspawnTestCluster("eb", { workers: 0 }, { addons: NO_ADDONS });
    const { dir, file, kubeconfig, hosts } = await cliScenario(t, "etcd-backup");
    await writeFile(file, stringify(raw));
    const bundle = join(dir, "bundle");
    if (!(await createTestBundle(t, plan, bundle))) return;
    const snapshot = join(dir, "etcd.db");
    const step = steps(t);
    let kc: KubeConfig;

    await step("up, a pod network, a namespace with a ConfigMap", async () => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      kc = kubeConfig(await readFile(kubeconfig, "utf8"));
      await connectNodes(plan, { file, hosts });
      await readyWithTestCni(plan, hosts, kc);
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: NS } } });
      await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: "kept" }, data: { a: "1" } } });
    });

    await step(
      "backup: the file is 0600 (over one that was 0644), checked with etcdutl, no copy left on the node",
      async () => {
        await writeFile(snapshot, "an older file anyone could read\n", { mode: 0o644 });
        const r = await kubelab("etcd", "backup", "-f", file, "--out", snapshot, "-o", "json");
        assert.equal(r.code, 0, `${r.out}\n${r.err}`);
        const result = JSON.parse(r.out) as { checkedWith: string; revision: number; totalKey: number; bytes: number };
        assert.equal(result.checkedWith, "etcdutl");
        assert.ok(result.revision > 0 && result.totalKey > 0, r.out);
        const st = await stat(snapshot);
        assert.equal(st.mode & 0o777, 0o600);
        assert.equal(st.size, result.bytes);
        const master = hosts.get("master-1") as Remote;
        const left = await master.exec(["sh", "-c", "ls /var/lib/etcd | grep kubelab- || true"]);
        assert.equal(left.stdout.trim(), "", "the node's temporary snapshot is removed");
      },
    );

    await step("the namespace is deleted", async () => {
      const core = kc.makeApiClient(CoreV1Api);
      await core.deleteNamespace({ name: NS });
      await poll(
        `namespace ${NS} gone`,
        async () => {
          const gone = await core.readNamespace({ name: NS }).then(
            () => false,
            () => true,
          );
          return gone ? { done: true, value: undefined } : { done: false, pending: "still there" };
        },
        { timeoutMs: 120_000 },
      );
    });

    await step("restore without a terminal and without --force: refused, nothing changed", async (st) => {
      const was = Object.getOwnPropertyDescriptor(process.stdin, "isTTY");
      Object.defineProperty(process.stdin, "isTTY", { value: false, configurable: true });
      st.after(() => {
        if (was) Object.defineProperty(process.stdin, "isTTY", was);
        else delete (process.stdin as { isTTY?: boolean }).isTTY;
      });
      const r = await kubelab("etcd", "restore", snapshot, "-f", file);
      assert.equal(r.code, 2, `${r.out}\n${r.err}`);
      assert.match(r.err, /needs confirmation/);
    });

    await step("restore --force: the namespace and its ConfigMap are back, and the cluster takes writes", async () => {
      const r = await kubelab("etcd", "restore", snapshot, "-f", file, "--force");
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      assert.match(
        r.out,
        /etcd on master-1 restored from .*the data before is kept on master-1 in \/var\/lib\/etcd\.before-restore-/,
      );
      const core = kc.makeApiClient(CoreV1Api);
      const cm = await poll(
        `ConfigMap ${NS}/kept`,
        async () => {
          const got = await core.readNamespacedConfigMap({ name: "kept", namespace: NS }).catch(() => undefined);
          return got ? { done: true, value: got } : { done: false, pending: "not readable yet" };
        },
        { timeoutMs: 120_000 },
      );
      assert.equal(cm.data?.a, "1");
      await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: "after" }, data: { b: "2" } } });
      const master = hosts.get("master-1") as Remote;
      const parked = await master.exec(["test", "-e", "/etc/kubernetes/kubelab-restore-manifests"]);
      assert.notEqual(parked.code, 0, "the manifests are back where kubelet reads them");
    });
  });
});
