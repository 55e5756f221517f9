import assert from "node:assert/strict";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import type { Plan } from "../plan/types.js";
import { validateCluster } from "../plan/validate.js";
import { HAPROXY_CFG_PATH, KEEPALIVED_CONF_PATH, renderHaFiles, renderHaproxy, renderKeepalived } from "./ha.js";

/**
 * Golden files: every file renderHaFiles produces for every node of the vip case (lab
 * interface eth1), at test/fixtures/render/vip/ha/<node>/<absolute path>. Regenerate with
 * `UPDATE_GOLDEN=1 node --import tsx --test src/render/ha.test.ts` and review the diff.
 */
const CASE = fileURLToPath(new URL("../../test/fixtures/render/vip/", import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === "1";

async function vipPlan(): Promise<Plan> {
  const r = validateCluster(parse(await readFile(join(CASE, "lab.yaml"), "utf8")), { file: "vip/lab.yaml" });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.plan;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

test("golden: keepalived and HAProxy files of the vip case", async (t) => {
  const plan = await vipPlan();
  const dir = join(CASE, "ha");
  const rendered = new Map<string, string>();
  for (const n of plan.nodes)
    for (const f of renderHaFiles(plan, n.name, "eth1")) rendered.set(join(n.name, f.path.slice(1)), f.content);
  if (UPDATE) {
    await rm(dir, { recursive: true, force: true });
    for (const [rel, content] of rendered) {
      await mkdir(dirname(join(dir, rel)), { recursive: true });
      await writeFile(join(dir, rel), content);
    }
    t.diagnostic(`wrote ${rendered.size} golden files to ${dir}`);
    return;
  }
  assert.deepEqual(await listFiles(dir), [...rendered.keys()].sort(), "set of rendered files (UPDATE_GOLDEN=1)");
  for (const [rel, content] of rendered)
    assert.equal(content, await readFile(join(dir, rel), "utf8"), `${rel} differs (UPDATE_GOLDEN=1 to accept)`);
});

test("only control planes get files, the check script is executable, a worker gets none", async () => {
  const plan = await vipPlan();
  assert.deepEqual(renderHaFiles(plan, "worker-1", "eth1"), []);
  const files = renderHaFiles(plan, "master-1", "eth1");
  assert.deepEqual(
    files.map((f) => [f.path, f.mode ?? 0o644]),
    [
      [KEEPALIVED_CONF_PATH, 0o644],
      ["/etc/keepalived/check_apiserver.sh", 0o755],
      [HAPROXY_CFG_PATH, 0o644],
    ],
  );
  assert.match(files[1]?.content ?? "", /^#!\/bin\/sh\n[\s\S]*https:\/\/localhost:8443\/healthz/);
});

test("priority falls by node order, and a failing check outweighs the spread", async () => {
  const plan = await vipPlan();
  const prio = (node: string) => Number(/priority (\d+)/.exec(renderKeepalived(plan, node, "eth1"))?.[1]);
  const weight = Number(/weight -(\d+)/.exec(renderKeepalived(plan, "master-1", "eth1"))?.[1]);
  assert.deepEqual(["master-1", "master-2", "master-3"].map(prio), [150, 149, 148]);
  // master-1 failing its check must rank below master-3 passing.
  assert.ok(prio("master-1") - weight < prio("master-3"));
});

test("keepalived holds the VIP on the interface given, peers are the other control planes", async () => {
  const plan = await vipPlan();
  const conf = renderKeepalived(plan, "master-3", "enp0s8");
  assert.match(conf, /interface enp0s8\n/);
  assert.match(conf, /192\.168\.56\.10\/32 dev enp0s8\n/);
  assert.match(
    conf,
    /unicast_src_ip 192\.168\.56\.13\n {4}unicast_peer \{\n {8}192\.168\.56\.11\n {8}192\.168\.56\.12\n {4}\}/,
  );
  assert.match(conf, new RegExp(`virtual_router_id ${plan.vip?.routerId}\\n`));
  // A node that comes back waits before it takes the VIP back.
  assert.match(conf, /state BACKUP\n[\s\S]*preempt_delay 30\n/);
  assert.throws(() => renderKeepalived(plan, "worker-1", "eth1"), /not a control plane/);
});

test("HAProxy listens on the endpoint's port and checks every API server's /healthz", async () => {
  const plan = await vipPlan();
  const p = { ...plan, vip: { ...(plan.vip as NonNullable<Plan["vip"]>), port: 9443 } };
  const cfg = renderHaproxy(p);
  assert.match(cfg, /bind \*:9443\n/);
  assert.match(cfg, /http-check send meth GET uri \/healthz\n/);
  assert.deepEqual(
    [...cfg.matchAll(/server (\S+) (\S+) check/g)].map((m) => `${m[1]} ${m[2]}`),
    ["master-1 192.168.56.11:6443", "master-2 192.168.56.12:6443", "master-3 192.168.56.13:6443"],
  );
});

test("without a VIP, or with kube-vip, nothing is rendered", async () => {
  const plan = await vipPlan();
  const { vip: _, ...noVip } = plan;
  assert.deepEqual(renderHaFiles(noVip, "master-1", "eth1"), []);
  const kubeVip = { ...plan, vip: { ...(plan.vip as NonNullable<Plan["vip"]>), loadBalancer: "kube-vip" as const } };
  assert.deepEqual(renderHaFiles(kubeVip, "master-1", "eth1"), []);
});
