/**
 * The kubelab CLI on real nspawn machines, offline: `up --bundle` from a cluster file,
 * a second `up`, `status`, `ssh`, `up --dry-run`, and `down` leaving nothing behind.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import { run } from "../../src/cli/main.js";
import { bridgeName } from "../../src/providers/nspawn/network.js";
import { nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { buildTestPackages, writeTestBundle } from "../helpers/packages.js";

async function kubelab(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await run(argv, {
    out: (s) => {
      out += s.endsWith("\n") ? s : `${s}\n`;
    },
    err: (s) => {
      err += s.endsWith("\n") ? s : `${s}\n`;
    },
  });
  return { code, out, err };
}

describe("kubelab CLI on nspawn machines", () => {
  it("up --bundle, up again, status, ssh, up --dry-run, down", async (t) => {
    if (!requireNspawn(t)) return;
    const { raw, plan } = nspawnTestCluster("c");
    const name = plan.name;
    const dir = await mkdtemp(join(tmpdir(), "kubelab-cli-e2e-"));
    const file = join(dir, "kubelab.yaml");
    await writeFile(file, stringify(raw));
    t.after(async () => {
      await kubelab("down", "-f", file, "--force");
      await rm(dir, { recursive: true, force: true });
    });
    const bundle = join(dir, "bundle");
    await writeTestBundle(await buildTestPackages(plan), plan, bundle);

    const first = await kubelab("up", "-f", file, "--bundle", bundle);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /3 nodes prepared, \d+ changes made/);
    assert.match(first.err, /✓ Create machines/);
    assert.match(
      first.err,
      /✓ Install kubeadm, kubelet and kubectl \(.*\n {5}master-1 {2}2 changes\n {5}worker-1 {2}2 changes\n {5}worker-2 {2}2 changes\n/,
    );
    const logFile = /log: (\S+)\)/.exec(first.out)?.[1] ?? "";
    assert.match(await readFile(logFile, "utf8"), /master-1: install containerd v2\.3\.4/);

    const again = await kubelab("up", "-f", file, "--bundle", bundle);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /3 nodes prepared, 0 changes made/);

    const status = await kubelab("status", "-f", file, "-o", "json");
    assert.equal(status.code, 0, status.err);
    const nodes = JSON.parse(status.out).nodes as { node: string; machine: string; prepared: boolean; ip: string }[];
    assert.deepEqual(
      nodes.map((n) => [n.node, n.machine, n.prepared, n.ip]),
      plan.nodes.map((n) => [n.name, "running", true, n.ip]),
    );

    assert.equal((await kubelab("ssh", "-f", file, "worker-2", "--", "test", "$(hostname)", "=", "worker-2")).code, 0);
    assert.equal((await kubelab("ssh", "-f", file, "worker-2", "--", "false")).code, 1);
    assert.equal((await kubelab("ssh", "-f", file, "worker-9")).code, 2);

    await kubelab("ssh", "-f", file, "master-1", "--", "rm", "/etc/default/kubelet");
    const dry = await kubelab("up", "-f", file, "--dry-run");
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, /dry run: 1 change would be made on 1 of 3 nodes/);
    assert.match(dry.err, /master-1: would write \/etc\/default\/kubelet/);

    const refused = await kubelab("down", "-f", file);
    assert.equal(refused.code, 2, "without a terminal, down needs --force");
    assert.match(refused.err, /pass --force/);
    const down = await kubelab("down", "-f", file, "--force");
    assert.equal(down.code, 0, down.err);
    const after = JSON.parse((await kubelab("status", "-f", file, "-o", "json")).out).nodes as { machine: string }[];
    assert.deepEqual(
      after.map((n) => n.machine),
      ["absent", "absent", "absent"],
    );
    assert.doesNotMatch(execFileSync("ip", ["-o", "link", "show"]).toString(), new RegExp(`${bridgeName(name)}[:@]`));
    assert.equal(existsSync(`/var/lib/kubelab/nspawn/${name}`), false);
    assert.doesNotMatch(execFileSync("ps", ["-eo", "args"]).toString(), new RegExp(`--machine=${name}-`));
  });
});
