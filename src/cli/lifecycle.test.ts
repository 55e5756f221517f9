// kubelab etcd restore without a terminal and without --force, and what stop and start print.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { kubelab } from "../../test/helpers/cli.js";
import { tempDir } from "../../test/helpers/tmp.js";
import type { LifecycleResult } from "../cluster/stop-start.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import type { MachineProvider } from "../providers/types.js";
import { type StopStartDeps, start, stop } from "./commands/stop-start.js";

async function clusterFile(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t);
  const file = join(dir, "kubelab.yaml");
  await writeFile(file, DEFAULT_CLUSTER_YAML);
  return { dir, file };
}

describe("kubelab etcd restore", () => {
  it("without a terminal and without --force: a UserError (exit 2) saying to pass --force", async (t) => {
    const { dir, file } = await clusterFile(t);
    const snapshot = join(dir, "etcd.db");
    await writeFile(snapshot, "snapshot bytes");
    const was = Object.getOwnPropertyDescriptor(process.stdin, "isTTY");
    Object.defineProperty(process.stdin, "isTTY", { value: false, configurable: true });
    t.after(() => {
      if (was) Object.defineProperty(process.stdin, "isTTY", was);
      else delete (process.stdin as { isTTY?: boolean }).isTTY;
    });
    const r = await kubelab("etcd", "restore", snapshot, "-f", file);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /error: kubelab etcd restore replaces the cluster's whole state and needs confirmation/);
    assert.match(r.err, /hint: run it on a terminal, or pass --force/);
  });

  it("a snapshot file that does not exist is named", async (t) => {
    const { dir, file } = await clusterFile(t);
    const r = await kubelab("etcd", "restore", join(dir, "missing.db"), "-f", file, "--force");
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /cannot read .*missing\.db \(ENOENT\)/);
  });

  it("etcd backup needs --out", async () => {
    const r = await kubelab("etcd", "backup");
    assert.equal(r.code, 2);
    assert.match(r.err, /--out <file>/);
  });
});

describe("kubelab stop and start", () => {
  const result: LifecycleResult = {
    cluster: "lab",
    nodes: [
      { node: "master-1", role: "control-plane", ip: "192.168.56.11", machine: "stopped" },
      { node: "worker-1", role: "worker", ip: "192.168.56.12", machine: "stopped" },
    ],
  };
  const deps: StopStartDeps = {
    providerFor: async () => ({}) as MachineProvider,
    stop: async () => result,
    start: async () => ({ ...result, nodes: result.nodes.map((n) => ({ ...n, machine: "running" as const })) }),
  };
  const io = () => {
    let out = "";
    return { io: { out: (s: string) => (out += `${s}\n`), err: () => {} }, out: () => out };
  };

  it("stop prints each machine's state, and what stopping means for the provider", async (t) => {
    const { file } = await clusterFile(t);
    const o = io();
    await stop({ file, output: "text" }, o.io, deps);
    assert.match(o.out(), /^master-1 +control-plane +192\.168\.56\.11 +stopped$/m);
    assert.match(o.out(), /cluster lab: VMs halted/);
  });

  it("start -o json is the machines and ready: true", async (t) => {
    const { file } = await clusterFile(t);
    const o = io();
    await start({ file, output: "json" }, o.io, deps);
    const data = JSON.parse(o.out());
    assert.equal(data.ready, true);
    assert.deepEqual(
      data.nodes.map((n: { machine: string }) => n.machine),
      ["running", "running"],
    );
  });
});
