// In-place upgrades against fake nodes: what each node needs from its facts and the cluster's
// answer, the order of the steps (what up --dry-run prints), refusals before any change, and
// batches of --max-unavailable workers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { byNode, fakeCluster, type NodeState, preparedNode } from "../../test/helpers/fake-node.js";
import { REST } from "../../test/helpers/fake-remote.js";
import { defaultPlan, planWith } from "../../test/helpers/fixtures.js";
import { CLUSTER_PHASES, PREPARE_PHASES } from "../cluster/up.js";
import { UserError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import { gatherFactsPhase } from "./gather-facts.js";
import { installKubernetesPhase, KUBELET_CONFIG } from "./install-kubernetes.js";
import { ADMIN_CONF } from "./kubeadm-state.js";
import { runPhases } from "./phase.js";
import {
  apiserverVersion,
  checkUpgrade,
  parseVersions,
  upgradeCheckPhase,
  upgradeKubernetesPhase,
  upgradeNeeds,
  versionsProbe,
} from "./upgrade.js";
import { validateHostsPhase } from "./validate-hosts.js";

const plan = defaultPlan();
const NEW = plan.kubernetes.version;
const old = planWith((raw) => {
  raw.kubernetes.version = "v1.36.3";
});
const OLD = old.kubernetes.version;

/** A node of a cluster made at `at`'s release: its packages, and the kubelet configuration kubeadm wrote. */
function member(at: Plan, name: string, extra: Record<string, string> = {}): NodeState {
  const s = preparedNode(at, name);
  return { ...s, files: { ...s.files, [KUBELET_CONFIG]: "kind: KubeletConfiguration\n", ...extra } };
}

const nodeLine = (name: string, kubelet: string, unschedulable = "", drained = "") =>
  `node ${name} kubelet=${kubelet} unschedulable=${unschedulable} drained=${drained}`;

/** The first control plane's answer to the versions probe. */
function answers(c: Awaited<ReturnType<typeof fakeCluster>>, stdout: string) {
  c.node("master-1").on(["sh", "-c", /kubeadm-config/, "kubelab-versions", REST], { stdout });
}

const ALL_OLD = ["cluster v1.36.3", nodeLine("master-1", OLD), nodeLine("worker-1", OLD), nodeLine("worker-2", OLD)];

/** A 1+2 cluster at v1.36.3, the plan at v1.37.2. */
async function oldCluster(opts: { dryRun?: boolean } = {}) {
  const c = await fakeCluster(
    plan,
    {
      "master-1": member(old, "master-1", { [ADMIN_CONF]: "admin" }),
      "worker-1": member(old, "worker-1"),
      "worker-2": member(old, "worker-2"),
    },
    opts,
  );
  answers(c, `${ALL_OLD.join("\n")}\n`);
  return c;
}

describe("what the cluster says", () => {
  test("parseVersions reads kubeadm-config's release and each Node", () => {
    const v = parseVersions(
      `cluster v1.36.3\n${nodeLine("master-1", NEW)}\n${nodeLine("worker-1", OLD, "true", NEW)}\n`,
    );
    assert.ok(v);
    assert.equal(v.controlPlane, OLD);
    assert.deepEqual(v.nodes.get("master-1"), { kubelet: NEW, unschedulable: false });
    assert.deepEqual(v.nodes.get("worker-1"), { kubelet: OLD, unschedulable: true, drainedFor: NEW });
    assert.equal(parseVersions("api-down\n"), undefined);
    // An init stopped before its RBAC: the API refuses admin.conf, nothing is known of the cluster.
    assert.deepEqual(parseVersions("unreadable\n"), { controlPlane: undefined, nodes: new Map() });
    assert.match(versionsProbe(30)[2] ?? "", /\|\| echo unreadable$/);
  });

  test("apiserverVersion reads the image of a static pod manifest", () => {
    assert.equal(
      apiserverVersion("spec:\n  containers:\n  - image: registry.k8s.io/kube-apiserver:v1.36.3\n"),
      "v1.36.3",
    );
    assert.equal(apiserverVersion(undefined), undefined);
  });
});

describe("upgradeNeeds: what each node needs, from facts and the cluster", () => {
  test("a whole cluster one minor back: the first control plane applies, workers upgrade node, every kubelet", async () => {
    const c = await oldCluster();
    const needs = upgradeNeeds(plan, c.ctx.facts, parseVersions(ALL_OLD.join("\n")) ?? assert.fail(), new Map());
    assert.deepEqual(
      [...needs.values()].map((u) => ({
        node: u.node.name,
        kubeadmPackage: u.kubeadmPackage,
        kubeadm: u.kubeadm,
        kubelet: u.kubelet,
      })),
      [
        {
          node: "master-1",
          kubeadmPackage: OLD,
          kubeadm: { kind: "apply", from: OLD },
          kubelet: { from: OLD, packages: true },
        },
        {
          node: "worker-1",
          kubeadmPackage: OLD,
          kubeadm: { kind: "node", from: OLD },
          kubelet: { from: OLD, packages: true },
        },
        {
          node: "worker-2",
          kubeadmPackage: OLD,
          kubeadm: { kind: "node", from: OLD },
          kubelet: { from: OLD, packages: true },
        },
      ],
    );
  });

  test("a stopped upgrade continues: done nodes get nothing, a drained one is uncordoned, a restarted package is restarted", async () => {
    const c = await fakeCluster(plan, {
      "master-1": member(plan, "master-1"),
      "worker-1": member(plan, "worker-1"),
      // Packages upgraded, kubelet not restarted yet.
      "worker-2": member(plan, "worker-2"),
    });
    const cluster = parseVersions(
      [
        `cluster ${NEW}`,
        nodeLine("master-1", NEW),
        nodeLine("worker-1", NEW, "true", NEW),
        nodeLine("worker-2", OLD, "true", NEW),
      ].join("\n"),
    );
    const needs = upgradeNeeds(plan, c.ctx.facts, cluster ?? assert.fail(), new Map());
    assert.deepEqual([...needs.keys()], ["worker-1", "worker-2"]);
    assert.equal(needs.get("worker-1")?.uncordon, true);
    assert.equal(needs.get("worker-1")?.kubelet, undefined);
    assert.deepEqual(needs.get("worker-2")?.kubelet, { from: OLD, packages: false });
    assert.equal(needs.get("worker-2")?.kubeadm, undefined);
  });

  test("another control plane upgrades node until its kube-apiserver manifest names the new release", async () => {
    const three = planWith((raw) => {
      raw.kubernetes.controlPlaneEndpoint = "192.168.56.10:6443";
      raw.nodes[0].count = 2;
    });
    const c = await fakeCluster(three, {
      "master-1": member(three, "master-1"),
      "master-2": member(three, "master-2"),
      "worker-1": member(three, "worker-1"),
      "worker-2": member(three, "worker-2"),
    });
    const cluster = parseVersions(
      [`cluster ${NEW}`, ...["master-1", "master-2", "worker-1", "worker-2"].map((n) => nodeLine(n, NEW))].join("\n"),
    );
    assert.ok(cluster);
    const behind = upgradeNeeds(three, c.ctx.facts, cluster, new Map([["master-2", OLD]]));
    assert.deepEqual([...behind.keys()], ["master-2"]);
    assert.deepEqual(behind.get("master-2")?.kubeadm, { kind: "node", from: OLD });
    assert.equal(upgradeNeeds(three, c.ctx.facts, cluster, new Map([["master-2", NEW]])).size, 0);
  });

  test("an upgraded cluster needs nothing; a node the cluster does not know gets packages only", async () => {
    const c = await fakeCluster(plan, {
      "master-1": member(plan, "master-1"),
      "worker-1": member(plan, "worker-1"),
      "worker-2": member(old, "worker-2"),
    });
    const cluster = parseVersions([`cluster ${NEW}`, nodeLine("master-1", NEW), nodeLine("worker-1", NEW)].join("\n"));
    const needs = upgradeNeeds(plan, c.ctx.facts, cluster ?? assert.fail(), new Map());
    assert.deepEqual([...needs.keys()], ["worker-2"]);
    assert.deepEqual(needs.get("worker-2")?.packagesOnly, ["kubeadm", "kubelet", "kubectl"]);
  });
});

describe("refusals, before anything changes", () => {
  const refusal = (fn: () => void): UserError => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof UserError, String(e));
      return e;
    }
    return assert.fail("no refusal");
  };

  test("a skipped minor: exit 2, where the old release runs, and the release to go to first", async () => {
    // A release kubelab does not pin: packages only a cluster made elsewhere would have.
    const at = "1.35.9-1.1";
    const m = member(plan, "master-1");
    const c = await fakeCluster(plan, {
      "master-1": { ...m, packages: { kubeadm: at, kubelet: at, kubectl: at } },
    });
    const e = refusal(() =>
      checkUpgrade(plan, c.ctx.facts, parseVersions(`cluster v1.35.9\n${nodeLine("master-1", "v1.35.9")}`)),
    );
    assert.equal(e.exitCode, 2);
    assert.match(e.message, /1\.35 -> 1\.37: upgrade to 1\.36 first/);
    assert.match(e.hint ?? "", /kubernetes\.version: v1\.36\.3/);
    assert.match(e.details ?? "", /the control plane \(kubeadm-config\): v1\.35\.9/);
    assert.match(e.details ?? "", /master-1's kubeadm package: v1\.35\.9/);
  });

  test("a downgrade is refused from the nodes' packages alone (the API need not answer)", async () => {
    const c = await fakeCluster(old, {
      "master-1": member(plan, "master-1"),
      "worker-1": member(plan, "worker-1"),
      "worker-2": member(plan, "worker-2"),
    });
    const e = refusal(() => checkUpgrade(old, c.ctx.facts, undefined));
    assert.equal(e.exitCode, 2);
    assert.match(e.message, /v1\.37\.2 -> v1\.36\.3 is a downgrade/);
    assert.match(e.details ?? "", /worker-2's kubelet package: v1\.37\.2/);
  });

  test("the check runs right after the facts, before any phase that changes a node", () => {
    // Gathering facts and validating hosts change nothing; every later phase may.
    assert.deepEqual(PREPARE_PHASES.slice(0, 3), [gatherFactsPhase, validateHostsPhase, upgradeCheckPhase]);
  });

  test("the check phase throws on a downgrade and touches nothing but the probe", async () => {
    const c = await fakeCluster(old, {
      "master-1": member(plan, "master-1", { [ADMIN_CONF]: "admin" }),
      "worker-1": member(plan, "worker-1"),
      "worker-2": member(plan, "worker-2"),
    });
    c.node("master-1").on(["sh", "-c", /kubeadm-config/, "kubelab-versions", REST], {
      stdout: `cluster ${NEW}\n${nodeLine("master-1", NEW)}\n`,
    });
    await assert.rejects(upgradeCheckPhase.run(c.ctx), (e: unknown) => e instanceof UserError && e.exitCode === 2);
    assert.deepEqual(c.ctx.changes, []);
    assert.deepEqual(c.touched(), ["master-1"]);
    assert.deepEqual(c.node("master-1").writes(), []);
  });
});

const UPGRADED = (first: string[]) => [
  ...first,
  `drain (kubelet ${OLD} -> ${NEW})`,
  `upgrade the kubelet and kubectl packages ${OLD} -> ${NEW} (held again)`,
  `restart kubelet and wait until the node is Ready at ${NEW}`,
  "uncordon",
];

describe("the upgrade phase in a dry run: the steps in order, no change made", () => {
  test("node by node, from which release to which", async () => {
    const c = await oldCluster({ dryRun: true });
    await upgradeKubernetesPhase.run(c.ctx);
    const workerSteps = () =>
      UPGRADED([
        `upgrade the kubeadm package ${OLD} -> ${NEW} (held again)`,
        `kubeadm upgrade node (worker, ${OLD} -> ${NEW})`,
      ]);
    assert.deepEqual(byNode(c.ctx.changes), {
      "master-1": UPGRADED([
        `upgrade the kubeadm package ${OLD} -> ${NEW} (held again)`,
        `kubeadm upgrade plan (the control plane runs ${OLD})`,
        `kubeadm upgrade apply -y ${NEW} (control plane ${OLD} -> ${NEW})`,
      ]),
      "worker-1": workerSteps(),
      "worker-2": workerSteps(),
    });
    // In order: master-1's steps, then worker-1's, then worker-2's.
    assert.deepEqual(
      c.ctx.changes.map((ch) => ch.node),
      [...Array(7).fill("master-1"), ...Array(6).fill("worker-1"), ...Array(6).fill("worker-2")],
    );
    // Only the questions were asked: no write, no command on a worker.
    assert.deepEqual(c.touched(), ["master-1"]);
    assert.deepEqual(c.node("master-1").writes(), []);
    assert.deepEqual(
      c
        .node("master-1")
        .commands()
        .map((a) => a.slice(0, 2).join(" ")),
      [`test -f`, "sh -c"],
    );
  });

  test("--max-unavailable 2 takes both workers out at once", async () => {
    const c = await oldCluster({ dryRun: true });
    await upgradeKubernetesPhase.run({ ...c.ctx, upgrade: { maxUnavailable: 2 } });
    const order = c.ctx.changes.map((ch) => ch.node).filter((n) => n !== "master-1");
    // Batched: worker-2 starts before worker-1 finishes.
    assert.ok(order.indexOf("worker-2") < order.lastIndexOf("worker-1"), order.join(" "));
    const one = await oldCluster({ dryRun: true });
    await upgradeKubernetesPhase.run(one.ctx);
    const serial = one.ctx.changes.map((ch) => ch.node).filter((n) => n !== "master-1");
    assert.ok(serial.indexOf("worker-2") > serial.lastIndexOf("worker-1"), serial.join(" "));
  });

  test("an upgraded cluster gets nothing (a second up changes nothing)", async () => {
    const c = await fakeCluster(plan, {
      "master-1": member(plan, "master-1", { [ADMIN_CONF]: "admin" }),
      "worker-1": member(plan, "worker-1"),
      "worker-2": member(plan, "worker-2"),
    });
    answers(c, [`cluster ${NEW}`, ...["master-1", "worker-1", "worker-2"].map((n) => nodeLine(n, NEW))].join("\n"));
    await upgradeKubernetesPhase.run(c.ctx);
    assert.deepEqual(c.ctx.changes, []);
  });

  test("a fresh cluster (no node joined) skips the phase", async () => {
    const c = await fakeCluster(plan);
    assert.equal(upgradeKubernetesPhase.shouldRun?.(c.ctx), false);
    assert.equal(upgradeCheckPhase.shouldRun?.(c.ctx), false);
  });
});

describe("install-kubernetes leaves the cluster's nodes to the upgrade", () => {
  test("members at an older release keep their packages; the upgrade moves them", async () => {
    const c = await oldCluster();
    await installKubernetesPhase.run(c.ctx);
    assert.deepEqual(c.ctx.changes, []);
    assert.deepEqual(c.touched(), []);
  });

  test("a node with older packages that never joined gets the plan's packages at once", async () => {
    const c = await fakeCluster(plan, { "worker-1": preparedNode(old, "worker-1") }, { dryRun: true });
    await installKubernetesPhase.run(c.ctx);
    const v = plan.kubernetes.packageVersion;
    assert.match(
      byNode(c.ctx.changes)["worker-1"]?.[0] ?? "",
      new RegExp(`install kubeadm=${v} kubelet=${v} kubectl=${v}`),
    );
  });
});

describe("every phase of up, dry run, on a cluster one release back", () => {
  test("the upgrade is listed in order, install-kubernetes moves nothing, and no node is changed", async () => {
    const kubeletConf = { "/etc/kubernetes/kubelet.conf": "kubelet" };
    const c = await fakeCluster(
      plan,
      {
        "master-1": member(old, "master-1", { [ADMIN_CONF]: "admin", ...kubeletConf }),
        "worker-1": member(old, "worker-1", kubeletConf),
        "worker-2": member(old, "worker-2", kubeletConf),
      },
      { dryRun: true },
    );
    answers(c, `${ALL_OLD.join("\n")}\n`);
    // The init probe (kubeadm-state.ts): a finished cluster with its three nodes.
    c.node("master-1").on(["sh", "-c", /kubeadm-config/, "kubelab-init-probe", REST], {
      stdout: "node master-1\nnode worker-1\nnode worker-2\n",
    });
    c.node("master-1").on(["kubectl", "--kubeconfig", ADMIN_CONF, "get", "nodes", "-o", "name"], {
      stdout: "node/master-1\nnode/worker-1\nnode/worker-2\n",
    });
    await runPhases([...PREPARE_PHASES, ...CLUSTER_PHASES], c.ctx, { start() {}, end() {} });
    const all = c.ctx.changes.map((ch) => `${ch.node}: ${ch.what}`);
    assert.ok(!all.some((w) => /install kubeadm=/.test(w)), all.join("\n"));
    assert.ok(!all.some((w) => /kubeadm (init|join)/.test(w)), all.join("\n"));
    const apply = all.indexOf(`master-1: kubeadm upgrade apply -y ${NEW} (control plane ${OLD} -> ${NEW})`);
    const w2 = all.indexOf("worker-2: uncordon");
    assert.ok(apply >= 0 && w2 > apply, all.join("\n"));
    for (const n of c.nodes.values()) assert.deepEqual(n.writes(), [], `${n.node} was written to`);
  });
});

describe("a one-node cluster", () => {
  test("is upgraded without a drain: its pods would have nowhere to go", async () => {
    const one = planWith((raw) => {
      raw.nodes = [raw.nodes[0]];
    });
    const oneOld = planWith((raw) => {
      raw.nodes = [raw.nodes[0]];
      raw.kubernetes.version = OLD;
    });
    const c = await fakeCluster(
      one,
      { "master-1": member(oneOld, "master-1", { [ADMIN_CONF]: "admin" }) },
      { dryRun: true },
    );
    answers(c, `cluster ${OLD}\n${nodeLine("master-1", OLD)}\n`);
    await upgradeKubernetesPhase.run(c.ctx);
    assert.deepEqual(byNode(c.ctx.changes), {
      "master-1": [
        `upgrade the kubeadm package ${OLD} -> ${NEW} (held again)`,
        `kubeadm upgrade plan (the control plane runs ${OLD})`,
        `kubeadm upgrade apply -y ${NEW} (control plane ${OLD} -> ${NEW})`,
        `upgrade the kubelet and kubectl packages ${OLD} -> ${NEW} (held again)`,
        `restart kubelet and wait until the node is Ready at ${NEW}`,
      ],
    });
  });
});
