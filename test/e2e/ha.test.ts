/**
 * A highly available control plane on real nspawn machines (3 control planes + 1 worker,
 * offline, `controlPlane.endpoint` with a VIP on the test bridge): `up --bundle` makes it with
 * keepalived and HAProxy on the control planes (from the node image), kubectl works through the
 * VIP; the machine holding the VIP is powered off, and the API answers through the VIP again
 * once keepalived moved it (how long it took is printed, not asserted: bounded at 3 minutes),
 * etcd keeps its quorum (3 members, 2 healthy, asked of another control plane), and doctor
 * names the new holder and etcd as degraded but quorate. `up` starts the machine again and it
 * rejoins: 3 healthy members, every node Ready, one VIP holder.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import type { CheckResult } from "../../src/doctor/types.js";
import { kubeConfig, listNodes, waitNodes } from "../../src/kube/client.js";
import { endpointHealth, memberList } from "../../src/phases/etcd.js";
import { clusterDir, clusterPaths } from "../../src/plan/cluster-dir.js";
import { validateCluster } from "../../src/plan/validate.js";
import { stopNode } from "../../src/providers/nspawn/provider.js";
import type { Remote } from "../../src/remote/types.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { cliScenario, connectNodes } from "../helpers/cli-scenario.js";
import { kubectlWith } from "../helpers/kubectl.js";
import { NO_ADDONS, nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";
import { installTestCni } from "../helpers/test-cni.js";

/** until polls `ok` every second, failing after `ms` with the last thing `ok` said. */
async function until(ok: () => Promise<true | string>, ms: number, what: string): Promise<void> {
  let last = "";
  for (const end = Date.now() + ms; ; ) {
    const r = await ok().catch((e: Error) => e.message);
    if (r === true) return;
    last = r;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}: ${last}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
}

describe("a highly available control plane", () => {
  it("3 control planes behind a VIP: the holder powered off, the API comes back through the VIP, etcd keeps quorum, the node rejoins", async (t) => {
    if (!requireNspawn(t)) return;
    const made = nspawnTestCluster("ha", { controlPlanes: 3, workers: 1 }, { addons: NO_ADDONS });
    // The VIP: the 10th address of the test's /24, below the nodes (from the 11th).
    const vip = made.plan.network.networkAddress.replace(/\.0$/, ".10");
    const { kubernetes: _endpoint, ...rest } = made.raw as Record<string, unknown>;
    const raw = { ...rest, controlPlane: { endpoint: { vip } } };
    const valid = validateCluster(raw);
    assert.ok(valid.ok, JSON.stringify(!valid.ok && valid.errors));
    const plan = valid.plan;
    assert.equal(plan.kubernetes.controlPlaneEndpoint, `${vip}:8443`);
    const cps = plan.nodes.filter((n) => n.role === "control-plane").map((n) => n.name);

    const scenario = await cliScenario(t, "ha");
    const { dir, file, hosts } = scenario;
    await writeFile(file, stringify(raw));
    const bundle = join(dir, "bundle");
    if (!(await createTestBundle(t, plan, bundle))) return;
    const own = clusterPaths(clusterDir(plan, file)).kubeconfig;
    const kubectl = kubectlWith(own);
    const step = steps(t);

    /** The control planes (among those connected) that have the VIP on an interface. */
    const holders = async () => {
      const found: string[] = [];
      for (const n of cps) {
        const remote = hosts.get(n);
        if (!remote) continue;
        const out = await remote.run(["ip", "-o", "-4", "addr", "show"]);
        if (out.includes(` ${vip}/32 `)) found.push(n);
      }
      return found;
    };
    const reconnect = async () => {
      await Promise.all([...hosts.values()].map((h) => h.close().catch(() => {})));
      hosts.clear();
      await connectNodes(plan, scenario);
    };
    /** The check's result from `kubelab doctor --check ID -o json`. */
    const doctor = async (id: string): Promise<CheckResult> => {
      const r = await kubelab("doctor", "-f", file, "--check", id, "-o", "json");
      const parsed = JSON.parse(r.out) as { results: CheckResult[] };
      const result = parsed.results.find((c) => c.id === id);
      assert.ok(result, `${id} in ${r.out}\n${r.err}`);
      return result;
    };
    let holder = "";
    let failoverSeconds = 0;

    await step("up --bundle makes the cluster; the kubeconfig's server is the VIP", async () => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      const kc = kubeConfig(await readFile(own, "utf8"));
      assert.equal(kc.getCurrentCluster()?.server, `https://${vip}:8443`);
      await connectNodes(plan, scenario);
      await installTestCni(plan, hosts, await listNodes(kc));
      await waitNodes(
        kc,
        plan.nodes.map((n) => n.name),
        { ready: true, timeoutMs: 300_000 },
      );
    });

    await step("kubectl works through the VIP, which exactly one control plane holds", async () => {
      const got = await kubectl("get", "nodes", "-o", "name");
      assert.equal(got.code, 0, got.err);
      assert.deepEqual(got.out.trim().split("\n").sort(), plan.nodes.map((n) => `node/${n.name}`).sort());
      for (const n of cps) {
        const active = await (hosts.get(n) as Remote).exec(["systemctl", "is-active", "keepalived", "haproxy"]);
        assert.equal(active.stdout, "active\nactive\n", `${n}: keepalived and haproxy run`);
      }
      const worker = await (hosts.get("worker-1") as Remote).exec(["systemctl", "is-active", "keepalived"]);
      assert.notEqual(worker.stdout.trim(), "active", "workers run no keepalived");
      const held = await holders();
      assert.equal(held.length, 1, `holders: ${held.join(", ")}`);
      holder = held[0] as string;
      t.diagnostic(`VIP ${vip} held by ${holder}`);
      const members = await memberList(hosts.get(holder) as Remote);
      assert.equal(members.length, 3);
    });

    await step("the holder powered off: the API answers through the VIP again, on another control plane", async () => {
      // Its connection goes first: one to a machine that is gone never finishes closing.
      await hosts.get(holder)?.close();
      hosts.delete(holder);
      const stopped = Date.now();
      // The provider's stop: a clean poweroff of the machine, which stays (list says stopped).
      await stopNode(plan, holder, { clusterDir: clusterDir(plan, file), log: (l) => t.diagnostic(l) });
      await until(
        async () => {
          const r = await kubectl("get", "nodes", "--request-timeout=5s", "-o", "name");
          return r.code === 0 || r.err.trim().split("\n").at(-1) || `exit ${r.code}`;
        },
        180_000,
        "kubectl get nodes through the VIP",
      );
      failoverSeconds = (Date.now() - stopped) / 1000;
      t.diagnostic(
        `kubectl through the VIP answered again ${failoverSeconds.toFixed(1)} s after ${holder} was powered off`,
      );
      const held = await holders();
      assert.equal(held.length, 1, `holders: ${held.join(", ")}`);
      assert.notEqual(held[0], holder);
      t.diagnostic(`VIP ${vip} now held by ${held[0]}`);
    });

    await step("etcd keeps quorum: 3 members, 2 healthy, asked of another control plane", async () => {
      const other = hosts.get(cps.find((n) => n !== holder) as string) as Remote;
      assert.equal((await memberList(other)).length, 3);
      await until(
        async () => {
          const healthy = (await endpointHealth(other)).filter((h) => h.health).length;
          return healthy === 2 || `${healthy} healthy`;
        },
        60_000,
        "2 healthy members",
      );
    });

    await step("doctor names the new VIP holder and etcd degraded but quorate", async () => {
      const held = await holders();
      const vipCheck = await doctor("control-plane.vip");
      assert.equal(vipCheck.verdict, "pass", JSON.stringify(vipCheck));
      assert.equal(vipCheck.findings[0]?.subject, held[0]);
      const etcd = await doctor("control-plane.etcd-quorum");
      assert.equal(etcd.verdict, "warn", JSON.stringify(etcd));
      assert.match(etcd.findings[0]?.evidence.join("\n") ?? "", /3 voting members, 2 healthy, quorum 2/);
      assert.match(etcd.findings[0]?.evidence.join("\n") ?? "", /degraded but quorate/);
    });

    await step("up starts the machine again: it rejoins, 3 healthy members, every node Ready, one holder", async () => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      await reconnect();
      const kc = kubeConfig(await readFile(own, "utf8"));
      // The node's routes to the others' pod networks went with its poweroff.
      await installTestCni(plan, hosts, await listNodes(kc));
      const any = hosts.get(cps.find((n) => n !== holder) as string) as Remote;
      await until(
        async () => {
          const health = await endpointHealth(any);
          return health.filter((h) => h.health).length === 3 || JSON.stringify(health);
        },
        300_000,
        "3 healthy etcd members",
      );
      assert.equal((await memberList(any)).length, 3);
      await waitNodes(
        kc,
        plan.nodes.map((n) => n.name),
        { ready: true, timeoutMs: 300_000 },
      );
      await until(
        async () => {
          const held = await holders();
          return held.length === 1 || `holders: ${held.join(", ") || "none"}`;
        },
        60_000,
        "one VIP holder",
      );
      const etcd = await doctor("control-plane.etcd-quorum");
      assert.equal(etcd.verdict, "pass", JSON.stringify(etcd));
      t.diagnostic(`failover through the VIP: ${failoverSeconds.toFixed(1)} s`);
    });
  });
});
