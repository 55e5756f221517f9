/**
 * The nspawn provider on real machines: one control plane and two workers booted with
 * systemd-nspawn on a test bridge (10.231.<random>.0/24), reached over SSH with the
 * cluster key, stopped and started, and removed without a trace. Needs root,
 * systemd-nspawn and debootstrap (scripts/dev-tools/install-deps.sh); the node image is
 * built once (~1 min) and cached.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { promisify } from "node:util";
import { nspawnTestCluster, requireNspawn, withCluster } from "../../../test/helpers/nspawn.js";
import { steps } from "../../../test/helpers/steps.js";
import type { Plan } from "../../plan/types.js";
import type { Machine, ProviderContext } from "../types.js";
import { clusterRoot, machineName } from "./machine.js";
import { bridgeName } from "./network.js";
import { nspawnProvider, startNode, stopNode } from "./provider.js";

const execFileP = promisify(execFile);

/** ssh runs a command on a node with the OpenSSH client and the cluster key. */
async function ssh(m: Machine, command: string): Promise<string> {
  assert.ok(m.endpoint, `${m.node} has no endpoint`);
  const { host, user, privateKeyPath } = m.endpoint;
  assert.ok(privateKeyPath);
  const { stdout } = await execFileP(
    "ssh",
    [
      "-i",
      privateKeyPath,
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      "ConnectTimeout=10",
      "-o",
      "LogLevel=ERROR",
      `${user}@${host}`,
      command,
    ],
    { encoding: "utf8", timeout: 60_000 },
  );
  return stdout.trim();
}

async function pgrep(pattern: string): Promise<string> {
  // pgrep exits 1 when nothing matches.
  return execFileP("pgrep", ["-a", "-f", pattern], { encoding: "utf8" }).then(
    (r) => r.stdout.trim(),
    () => "",
  );
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

test("nspawn provider: three real nodes boot, talk, stop, start and go away without a trace", {
  timeout: 15 * 60_000,
}, async (t) => {
  if (!requireNspawn(t)) return;
  const { plan } = nspawnTestCluster("t");
  const machineNames = plan.nodes.map((n) => machineName(plan.name, n.name));
  const linksBefore = await nspawnLinks();
  let started = performance.now();
  const step = steps(t);
  await withCluster(t, plan, async ({ ctx, machines }) => {
    const byName = new Map(machines.map((m) => [m.node, m]));
    const node = (name: string): Machine => {
      const m = byName.get(name);
      assert.ok(m, name);
      return m;
    };
    let ids: string[] = [];

    await step("create boots every node, running", () => {
      t.diagnostic(`create ${plan.name} (3 nodes, ${plan.network.cidr}): ${seconds(started)}`);
      assert.deepEqual(
        machines.map((m) => [m.node, m.state]),
        plan.nodes.map((n) => [n.name, "running"]),
      );
    });

    await step("every node answers SSH with the cluster key, knows its name and has its own machine-id", async () => {
      for (const m of machines) assert.equal(await ssh(m, "hostname"), m.node);
      ids = await Promise.all(machines.map((m) => ssh(m, "cat /etc/machine-id")));
      for (const id of ids) assert.match(id, /^[0-9a-f]{32}$/);
      assert.equal(new Set(ids).size, ids.length, `machine-ids not unique: ${ids.join(" ")}`);
    });

    await step("nodes reach each other on the lab network", async () => {
      for (const from of plan.nodes) {
        for (const to of plan.nodes) {
          if (from === to) continue;
          await ssh(node(from.name), `ping -c 1 -W 2 ${to.ip}`);
        }
      }
    });

    await step("the early-boot fixups (cgroup controllers writable, / shared) and the node label", async () => {
      const cp = node("master-1");
      await ssh(cp, "mkdir /sys/fs/cgroup/memory/kubelab-test && rmdir /sys/fs/cgroup/memory/kubelab-test");
      await ssh(cp, "mkdir /sys/fs/cgroup/cpu/kubelab-test && rmdir /sys/fs/cgroup/cpu/kubelab-test");
      assert.equal(await ssh(cp, "findmnt -n -o PROPAGATION /"), "shared");
      // The label the cluster state is read from.
      assert.deepEqual(JSON.parse(await ssh(cp, "cat /etc/kubelab/node.json")), {
        cluster: plan.name,
        node: "master-1",
        role: "control-plane",
        ip: plan.nodes[0]?.ip,
      });
    });

    await step(
      "list() sees them running; worker-2 stopped is reported stopped, and starts again as itself",
      async () => {
        const state = async (name: string) =>
          (await nspawnProvider.list(plan, ctx)).find((m) => m.node === name)?.state;
        assert.deepEqual(
          (await nspawnProvider.list(plan, ctx)).map((m) => m.state),
          ["running", "running", "running"],
        );
        started = performance.now();
        await stopNode(plan, "worker-2", ctx);
        t.diagnostic(`stopNode worker-2: ${seconds(started)}`);
        assert.equal(await state("worker-2"), "stopped");
        assert.equal(await pgrep(`--machine=${machineName(plan.name, "worker-2")}`), "");
        assert.equal(await state("worker-1"), "running");
        started = performance.now();
        const again = await startNode(plan, "worker-2", ctx);
        t.diagnostic(`startNode worker-2: ${seconds(started)}`);
        assert.equal(again.state, "running");
        assert.equal(await state("worker-2"), "running");
        assert.equal(await ssh(again, "hostname"), "worker-2");
        // Its identity survived the restart.
        assert.equal(await ssh(again, "cat /etc/machine-id"), ids[2]);
      },
    );

    await step("a second create() is a no-op: the same processes", async () => {
      const pidsOf = () =>
        plan.nodes.map((n) => readFileSync(`${clusterRoot(plan.name)}/${n.name}/nspawn.pid`, "utf8").trim());
      const before = pidsOf();
      started = performance.now();
      const second = await nspawnProvider.create(plan, ctx);
      t.diagnostic(`second create (no-op): ${seconds(started)}`);
      assert.deepEqual(pidsOf(), before);
      assert.deepEqual(
        second.map((m) => m.state),
        ["running", "running", "running"],
      );
    });

    await step("logs() returns the node's console and journal", async () => {
      assert.match(await nspawnProvider.logs(plan, "worker-1", ctx), /worker-1/);
    });

    await step("destroy() leaves no process, link, mount or directory", async () => {
      started = performance.now();
      await nspawnProvider.destroy(plan, ctx);
      t.diagnostic(`destroy (3 nodes): ${seconds(started)}`);
      await assertNothingLeft(plan, machineNames, linksBefore, ctx);
    });
  });
  await step("destroy() on a cluster already gone is a no-op (withCluster's t.after does it next)", async () => {
    await nspawnProvider.destroy(plan, { clusterDir: "/nonexistent", log: () => {} });
  });
});

/** The host's bridge (kl-) and nspawn veth (vb-) links. */
async function nspawnLinks(): Promise<string[]> {
  const out = (await execFileP("ip", ["-br", "link"], { encoding: "utf8" })).stdout;
  return out
    .split("\n")
    .map((l) => l.split(/[\s@]/)[0] ?? "")
    .filter((n) => n.startsWith("kl-") || n.startsWith("vb-"));
}

async function assertNothingLeft(
  plan: Plan,
  machineNames: string[],
  linksBefore: string[],
  ctx: ProviderContext,
): Promise<void> {
  for (const name of machineNames) assert.equal(await pgrep(`--machine=${name}`), "", `${name} still running`);
  const links = await nspawnLinks();
  assert.ok(!links.includes(bridgeName(plan.name)), `bridge ${bridgeName(plan.name)} left`);
  // Only this cluster's links count: other tests (or clusters) may add their own meanwhile.
  // nspawn names a node's host-side veth "vb-" + the start of its machine name.
  const ours = (l: string) => l === bridgeName(plan.name) || l.startsWith(`vb-${plan.name.slice(0, 7)}`);
  assert.deepEqual(
    links.filter((l) => !linksBefore.includes(l) && ours(l)),
    [],
    "links left behind",
  );
  const mounts = readFileSync("/proc/self/mounts", "utf8");
  assert.doesNotMatch(mounts, new RegExp(` ${clusterRoot(plan.name)}[/ ]`));
  assert.equal(existsSync(clusterRoot(plan.name)), false, `${clusterRoot(plan.name)} still exists`);
  for (const h of ["memory", "cpu", "pids", "systemd", "unified"]) {
    for (const name of machineNames) {
      assert.equal(existsSync(`/sys/fs/cgroup/${h}/kubelab/${name}`), false, `cgroup ${h}/kubelab/${name} left`);
    }
  }
  assert.deepEqual(
    (await nspawnProvider.list(plan, ctx)).map((m) => m.state),
    ["absent", "absent", "absent"],
  );
}
