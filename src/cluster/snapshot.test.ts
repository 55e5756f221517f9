// Whole-lab snapshots against a fake provider and fake steps: the order of the steps, the
// manifest, kubelab's files kept and put back, the name rules and the refusals.
import assert from "node:assert/strict";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { UserError } from "../errors.js";
import { clusterPaths } from "../plan/cluster-dir.js";
import type { Plan } from "../plan/types.js";
import type { Machine, MachineProvider } from "../providers/types.js";
import {
  checkSnapshotName,
  deleteSnapshot,
  listSnapshots,
  MANIFEST,
  restorePlan,
  restoreSnapshot,
  type SnapshotSteps,
  saveSnapshot,
  snapshotsDir,
} from "./snapshot.js";

const plan = defaultPlan();
const NODES = plan.nodes.map((n) => n.name);

/** A lab whose provider and steps record what is done to it, in order. */
async function lab(t: Parameters<typeof tempDir>[0], state: Machine["state"] = "running", withSnapshots = true) {
  const dir = await tempDir(t);
  const calls: string[] = [];
  let states = Object.fromEntries(NODES.map((n) => [n, state])) as Record<string, Machine["state"]>;
  const provider = {
    name: plan.provider.name,
    list: async () => NODES.map((node) => ({ node, state: states[node] })),
    ...(withSnapshots
      ? {
          snapshot: {
            save: async (_p: Plan, name: string, nodes: readonly string[]) => {
              calls.push(`disks save ${name} ${nodes.join(",")} (${Object.values(states).join(",")})`);
              return nodes.map((node) => ({ node, location: `/snap/${name}/${node}`, addedBytes: 1000, bytes: 5000 }));
            },
            restore: async (_p: Plan, name: string, nodes: readonly string[]) => {
              calls.push(`disks restore ${name} ${nodes.join(",")} (${Object.values(states).join(",")})`);
            },
            delete: async (_p: Plan, name: string) => {
              calls.push(`disks delete ${name}`);
            },
            list: async () => [],
          },
        }
      : {}),
  } as unknown as MachineProvider;
  const steps: SnapshotSteps = {
    backupEtcd: async (_p, out) => {
      calls.push(`etcd backup (${Object.values(states).join(",")})`);
      await writeFile(out, "etcd bytes", { mode: 0o600 });
      return { bytes: 10, revision: 7, node: "master-1" };
    },
    stop: async (_plan, o) => {
      calls.push(o.discard ? "stop (discard)" : "stop");
      states = Object.fromEntries(NODES.map((n) => [n, "stopped"]));
    },
    start: async () => {
      calls.push("start");
      states = Object.fromEntries(NODES.map((n) => [n, "running"]));
    },
  };
  const p = clusterPaths(dir);
  await writeFile(p.kubeconfig, "kubeconfig then", { mode: 0o600 });
  await writeFile(p.knownHosts, "known hosts then");
  await writeFile(p.key, "key", { mode: 0o600 });
  const opts = {
    provider,
    clusterDir: dir,
    log: () => {},
    steps,
    now: () => new Date("2026-12-07T03:00:00.000Z"),
  };
  return { dir, calls, opts, p };
}

const refusal = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof UserError, String(e));
  assert.match(`${e.message}\n${e.hint ?? ""}`, pattern);
  return true;
};

describe("snapshot names", () => {
  it("takes DNS labels", () => {
    for (const n of ["s1", "before-upgrade", "a", "x".repeat(63)]) checkSnapshotName(n);
  });
  it("refuses anything else, saying what a name may be", () => {
    for (const n of ["", "S1", "-a", "a-", "a_b", "a.b", "../x", "x".repeat(64), "a b"])
      assert.throws(() => checkSnapshotName(n), refusal(/invalid snapshot name[\s\S]*lower case letters, digits/));
  });
});

describe("snapshot save", () => {
  it("etcd first, then stop, the disks, and start again: a running lab is running after", async (t) => {
    const { calls, opts } = await lab(t);
    const r = await saveSnapshot(plan, "s1", opts);
    assert.deepEqual(calls, [
      "etcd backup (running,running,running)",
      "stop",
      `disks save s1 ${NODES.join(",")} (stopped,stopped,stopped)`,
      "start",
    ]);
    assert.equal(r.started, true);
  });

  it("a stopped lab stays stopped, and has no etcd snapshot", async (t) => {
    const { calls, opts, dir } = await lab(t, "stopped");
    const r = await saveSnapshot(plan, "s1", opts);
    assert.deepEqual(calls, [`disks save s1 ${NODES.join(",")} (stopped,stopped,stopped)`]);
    assert.equal(r.etcd, undefined);
    assert.equal(r.wasRunning, false);
    const m = JSON.parse(await readFile(join(snapshotsDir(dir), "s1", MANIFEST), "utf8"));
    assert.equal(m.wasRunning, false);
  });

  it("writes the manifest: name, time, provider, nodes, sizes, and keeps kubelab's files and etcd's snapshot", async (t) => {
    const { opts, dir } = await lab(t);
    await saveSnapshot(plan, "s1", opts);
    const sdir = join(snapshotsDir(dir), "s1");
    const m = JSON.parse(await readFile(join(sdir, MANIFEST), "utf8"));
    assert.equal(m.name, "s1");
    assert.equal(m.cluster, plan.name);
    assert.equal(m.created, "2026-12-07T03:00:00.000Z");
    assert.equal(m.provider, plan.provider.name);
    assert.deepEqual(
      m.nodes.map((n: { name: string; location: string }) => [n.name, n.location]),
      NODES.map((n) => [n, `/snap/s1/${n}`]),
    );
    assert.deepEqual(m.files, ["kubeconfig", "known_hosts", "id_ed25519"]);
    assert.deepEqual(m.etcd, { file: "etcd.db", node: "master-1", bytes: 10, revision: 7 });
    assert.equal(m.sizes.disks, 1000 * NODES.length);
    assert.equal(await readFile(join(sdir, "files", "kubeconfig"), "utf8"), "kubeconfig then");
    assert.equal((await stat(join(sdir, "files", "id_ed25519"))).mode & 0o777, 0o600);
    assert.equal((await stat(snapshotsDir(dir))).mode & 0o777, 0o700);
    assert.equal(await readFile(join(sdir, "etcd.db"), "utf8"), "etcd bytes");
  });

  it("refuses a name that is taken unless --force, before anything is done", async (t) => {
    const { opts, calls } = await lab(t);
    await saveSnapshot(plan, "s1", opts);
    calls.length = 0;
    await assert.rejects(saveSnapshot(plan, "s1", opts), refusal(/already has a snapshot named s1[\s\S]*--force/));
    assert.deepEqual(calls, []);
    await saveSnapshot(plan, "s1", { ...opts, force: true });
    assert.equal(calls.length, 4);
  });

  it("refuses a provider that cannot snapshot (existing hosts), naming what to do instead", async (t) => {
    const { opts, calls } = await lab(t, "running", false);
    await assert.rejects(saveSnapshot(plan, "s1", opts), refusal(/cannot snapshot machines it did not make/));
    assert.deepEqual(calls, []);
  });

  it("a failed copy starts the lab again and leaves no snapshot behind", async (t) => {
    const { opts, calls, dir } = await lab(t);
    const provider = {
      ...opts.provider,
      snapshot: {
        ...opts.provider.snapshot,
        save: async () => {
          calls.push("disks save");
          throw new Error("disk full");
        },
      },
    } as MachineProvider;
    await assert.rejects(saveSnapshot(plan, "s1", { ...opts, provider }), /disk full/);
    assert.deepEqual(calls, ["etcd backup (running,running,running)", "stop", "disks save", "start"]);
    assert.deepEqual(await listSnapshots(dir), []);
  });
});

describe("snapshot restore", () => {
  it("says what is lost and asks; no changes nothing", async (t) => {
    const { opts, calls } = await lab(t);
    await saveSnapshot(plan, "s1", opts);
    calls.length = 0;
    let printed = "";
    let asked = "";
    const r = await restoreSnapshot(plan, "s1", {
      ...opts,
      print: (text) => (printed += text),
      confirm: async (q) => {
        asked = q;
        return false;
      },
    });
    assert.equal(r, undefined);
    assert.deepEqual(calls, []);
    assert.match(printed, /taken 2026-12-07T03:00:00\.000Z/);
    assert.match(printed, /everything written on any node since 2026-12-07T03:00:00\.000Z is lost/);
    for (const n of plan.nodes)
      assert.match(printed, new RegExp(`${n.name} +${n.role} +${n.ip.replaceAll(".", "\\.")}`));
    assert.match(asked, /Restore cluster lab to snapshot s1/);
  });

  it("stops the lab, puts every disk and kubelab's files back, then starts and waits", async (t) => {
    const { opts, calls, p } = await lab(t);
    await saveSnapshot(plan, "s1", opts);
    await writeFile(p.kubeconfig, "kubeconfig now");
    calls.length = 0;
    const r = await restoreSnapshot(plan, "s1", { ...opts, print: () => {}, confirm: async () => true });
    // What runs is replaced next: the machines are not shut down cleanly first.
    assert.deepEqual(calls, [
      "stop (discard)",
      `disks restore s1 ${NODES.join(",")} (stopped,stopped,stopped)`,
      "start",
    ]);
    assert.equal(await readFile(p.kubeconfig, "utf8"), "kubeconfig then");
    assert.equal((await stat(p.kubeconfig)).mode & 0o777, 0o600);
    assert.equal(r?.name, "s1");
  });

  it("a stopped lab is not stopped again, and is started", async (t) => {
    const { opts, calls } = await lab(t, "stopped");
    await saveSnapshot(plan, "s1", opts);
    calls.length = 0;
    await restoreSnapshot(plan, "s1", { ...opts, print: () => {}, confirm: async () => true });
    assert.deepEqual(calls, [`disks restore s1 ${NODES.join(",")} (stopped,stopped,stopped)`, "start"]);
  });

  it("an unknown name lists the snapshots there are", async (t) => {
    const { opts } = await lab(t);
    const go = () => restoreSnapshot(plan, "nope", { ...opts, print: () => {}, confirm: async () => true });
    await assert.rejects(go(), refusal(/no snapshot named nope; it has none[\s\S]*kubelab snapshot save nope/));
    await saveSnapshot(plan, "s1", opts);
    await saveSnapshot(plan, "s2", opts);
    await assert.rejects(go(), refusal(/no snapshot named nope; it has s1, s2/));
  });

  it("refuses a snapshot of other nodes than the file has now", async (t) => {
    const { opts, calls } = await lab(t);
    await saveSnapshot(plan, "s1", opts);
    calls.length = 0;
    const fewer = { ...plan, nodes: plan.nodes.slice(0, 2) };
    await assert.rejects(
      restoreSnapshot(fewer, "s1", { ...opts, print: () => {}, confirm: async () => true }),
      refusal(/holds nodes master-1, worker-1, worker-2; cluster lab now has master-1, worker-1/),
    );
    assert.deepEqual(calls, []);
  });
});

describe("snapshot list and delete", () => {
  it("lists oldest first and skips what is not a snapshot", async (t) => {
    const { opts, dir } = await lab(t, "stopped");
    await saveSnapshot(plan, "b", { ...opts, now: () => new Date("2026-12-07T01:00:00Z") });
    await saveSnapshot(plan, "a", { ...opts, now: () => new Date("2026-12-07T02:00:00Z") });
    await mkdir(join(snapshotsDir(dir), "c.tmp"));
    assert.deepEqual(
      (await listSnapshots(dir)).map((s) => s.name),
      ["b", "a"],
    );
  });

  it("delete removes the provider's copies and kubelab's directory", async (t) => {
    const { opts, dir, calls } = await lab(t, "stopped");
    await saveSnapshot(plan, "s1", opts);
    calls.length = 0;
    await deleteSnapshot(plan, "s1", opts);
    assert.deepEqual(calls, ["disks delete s1"]);
    assert.deepEqual(await listSnapshots(dir), []);
    await assert.rejects(deleteSnapshot(plan, "s1", opts), refusal(/no snapshot named s1/));
  });
});

describe("restorePlan", () => {
  it("names the time, the loss on every node and the files put back", () => {
    const text = restorePlan(plan, {
      name: "s1",
      cluster: "lab",
      created: "2026-12-07T03:00:00.000Z",
      provider: "nspawn",
      nodes: [{ name: "master-1", role: "control-plane", ip: "192.168.56.11", location: "x" }],
      files: ["kubeconfig"],
      wasRunning: true,
      sizes: { files: 1 },
    });
    assert.match(text, /Restore cluster lab to snapshot s1, taken 2026-12-07T03:00:00\.000Z/);
    assert.match(text, /every node's disk is replaced/);
    assert.match(text, /\(kubeconfig\) are put back/);
    assert.match(text, /master-1 +control-plane +192\.168\.56\.11/);
  });
});
