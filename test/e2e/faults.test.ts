/**
 * Faults while kubelab works, on real nspawn machines (1 control plane + 1 worker, offline):
 * Ctrl-C during node preparation, during `kubeadm init` and while an addon (MetalLB) is
 * applied, a second `up` while one runs, the worker's `kubeadm join` killed, and the API
 * server restarted while the addon is applied. Each ends in a clear exit (130, or 1 naming the node), no
 * temp file of kubelab's is left (they may hold secrets), and the next `up` converges: one Node
 * per node, nothing of the user's kubeconfig lost, and a further `up` changes nothing.
 * The figures (faults tried, survived, data lost) are printed as a diagnostic for the README.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import { kubeConfig, listNodes, waitNodes } from "../../src/kube/client.js";
import { clusterDir } from "../../src/plan/cluster-dir.js";
import { validateCluster } from "../../src/plan/validate.js";
import type { Remote } from "../../src/remote/types.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { cliScenario, connectNodes, OTHER_KUBECONFIG as OTHER } from "../helpers/cli-scenario.js";
import { killIfRunning, spawnKubelab } from "../helpers/kubelab-process.js";
import { NO_ADDONS, nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";
import { installTestCni } from "../helpers/test-cni.js";

/** until polls `ok` every 200 ms, failing after `ms`. */
async function until(ok: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  for (const end = Date.now() + ms; !(await ok()); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("faults while kubelab works", () => {
  it("Ctrl-C in preparation and in kubeadm init, a second up, a killed join: each ends clearly and the next up converges", async (t) => {
    if (!requireNspawn(t)) return;
    // First without addons; MetalLB comes later, for the faults while addons are applied.
    const made = nspawnTestCluster("flt", { workers: 1 });
    const pools = (made.raw.addons as { metallb: { pools: string[] } }).metallb.pools;
    const raw = { ...made.raw, addons: NO_ADDONS };
    const withMetallb = { ...made.raw, addons: { ...NO_ADDONS, metallb: { enabled: true, pools } } };
    const full = validateCluster(withMetallb);
    assert.ok(full.ok, JSON.stringify(!full.ok && full.errors));
    const plan = full.plan;
    const { dir, file, kubeconfig, hosts } = await cliScenario(t, "faults");
    await writeFile(file, stringify(raw));
    await writeFile(kubeconfig, OTHER);
    const bundle = join(dir, "bundle");
    if (!(await createTestBundle(t, plan, bundle))) return;
    const tmp = join(dir, "tmp");
    await mkdir(tmp);
    const env = { TMPDIR: tmp };
    const logs = join(clusterDir(plan, file), "logs");
    const lock = join(clusterDir(plan, file), "lock");
    const step = steps(t);
    let tried = 0;

    /** The newest `up` run log's text ("" before there is one). */
    const runLog = async () => {
      const names = existsSync(logs) ? (await readdir(logs)).filter((f) => f.endsWith("-up.log")).sort() : [];
      const last = names.at(-1);
      return last ? readFile(join(logs, last), "utf8") : "";
    };
    const noTempFiles = async () =>
      assert.deepEqual(
        (await readdir(tmp)).filter((f) => f.startsWith("kubelab-")),
        [],
        "no temp file of kubelab's is left",
      );
    /** interruptWhen starts `up`, waits for `line` in its run log, sends SIGINT: exit 130 within 5 s. */
    const interruptWhen = async (line: RegExp, what: string, afterMs = 0) => {
      tried++;
      const before = await runLog();
      const up = spawnKubelab(["up", "-f", file, "--bundle", bundle], env);
      t.after(() => killIfRunning(up.child));
      let exited: number | null | undefined;
      void up.exited.then(({ code }) => {
        exited = code;
      });
      await until(
        async () => {
          // An up that ended before the line came will never show it: say why it ended.
          if (exited !== undefined) throw new Error(`up exited ${exited} before ${what}:\n${up.err()}`);
          const now = await runLog();
          return now !== before && line.test(now);
        },
        300_000,
        what,
      );
      // Into the command the line announces, not just before it.
      await new Promise((r) => setTimeout(r, afterMs));
      const sent = Date.now();
      up.child.kill("SIGINT");
      const { code } = await up.exited;
      const seconds = (Date.now() - sent) / 1000;
      assert.equal(code, 130, up.err());
      assert.ok(seconds < 6, `exited ${seconds} s after SIGINT`);
      assert.match(up.err(), /interrupted; the next kubelab up continues from here/);
      assert.equal(existsSync(lock), false, "the lock is released");
      await noTempFiles();
    };

    await step("Ctrl-C while the nodes are prepared: exit 130, lock released, no temp file left", () =>
      interruptWhen(/: install containerd/, "node preparation"),
    );

    await step("Ctrl-C while kubeadm init runs: exit 130", () =>
      interruptWhen(/master-1: (kubeadm init|kubeadm reset -f and kubeadm init again)/, "kubeadm init", 4000),
    );

    await step(
      "a second up while one runs is told the cluster is busy; the worker's join killed fails naming it",
      async () => {
        tried += 2;
        const first = spawnKubelab(["up", "-f", file, "--bundle", bundle], env);
        t.after(() => killIfRunning(first.child));
        await until(() => existsSync(lock), 60_000, "the first up to take the lock");
        const second = await kubelab("up", "-f", file, "--bundle", bundle);
        assert.equal(second.code, 1, second.err);
        assert.match(second.err, /cluster \S+ is busy \(pid \d+, since [^)]+\): kubelab up is working on it/);
        // Once up starts the worker's join, kill every kubeadm on the worker as soon as it appears.
        await until(async () => /worker-1: kubeadm (join|reset)/.test(await runLog()), 300_000, "the join");
        if (!hosts.has("worker-1")) await connectNodes(plan, { file, hosts });
        const worker = hosts.get("worker-1") as Remote;
        await worker.exec(["timeout", "60", "sh", "-c", "until pkill -KILL -x kubeadm; do sleep 0.05; done"]);
        const { code } = await first.exited;
        assert.equal(code, 1, first.err());
        assert.match(first.err(), /worker-1/);
        await noTempFiles();
      },
    );

    await step(
      "the next up converges: each node once, the user's other context kept; another up changes nothing",
      async () => {
        const r = await kubelab("up", "-f", file, "--bundle", bundle);
        assert.equal(r.code, 0, `${r.out}\n${r.err}`);
        const kc = kubeConfig(await readFile(kubeconfig, "utf8"));
        assert.deepEqual(
          (await listNodes(kc)).map((n) => n.metadata?.name),
          ["master-1", "worker-1"],
        );
        assert.ok(
          kc.getContexts().some((c) => c.name === "other"),
          "the user's other context survived",
        );
        const again = await kubelab("up", "-f", file, "--bundle", bundle);
        assert.equal(again.code, 0, again.err);
        assert.match(again.out, /2 nodes joined, 0 changes made/);
      },
    );

    await step("with a pod network, MetalLB added: Ctrl-C while it is applied exits 130", async () => {
      await connectNodes(plan, { file, hosts });
      const kc = kubeConfig(await readFile(kubeconfig, "utf8"));
      await installTestCni(plan, hosts, await listNodes(kc));
      await waitNodes(
        kc,
        plan.nodes.map((n) => n.name),
        { ready: true, timeoutMs: 240_000 },
      );
      await writeFile(file, stringify(withMetallb));
      await interruptWhen(/• MetalLB v/, "MetalLB's apply", 1500);
    });

    await step("the API server restarted while MetalLB is applied: up rides it out and finishes", async () => {
      tried++;
      const before = await runLog();
      const up = spawnKubelab(["up", "-f", file, "--bundle", bundle], env);
      t.after(() => killIfRunning(up.child));
      await until(
        async () => {
          const now = await runLog();
          return now !== before && /• MetalLB v/.test(now);
        },
        300_000,
        "MetalLB's apply",
      );
      // kubelet stops the API server when its manifest goes, and starts it again when it is back.
      const master = hosts.get("master-1") as Remote;
      await master.run([
        "sh",
        "-c",
        "mv /etc/kubernetes/manifests/kube-apiserver.yaml /root/ && sleep 10 && mv /root/kube-apiserver.yaml /etc/kubernetes/manifests/",
      ]);
      const { code } = await up.exited;
      assert.equal(code, 0, up.err());
      const again = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(again.code, 0, again.err);
      assert.match(again.out, /2 nodes joined, 0 changes made/);
      t.diagnostic(`faults tried ${tried}, survived ${tried} (the next up converged), data lost 0`);
    });
  });
});
