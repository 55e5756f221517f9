// up --dry-run meets what a real up would stop at, and says so instead of "would create":
// existing hosts on loopback that refuse (ECONNREFUSED), accept and never speak SSH (a
// timeout), or reject the login (an in-process SSH server; authentication, a changed host
// key); and the vagrant provider's host checks on made-up facts. Nothing leaves this host.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { blob } from "../../test/helpers/host-keys.js";
import { recordingStatus } from "../../test/helpers/recording-status.js";
import { clientKey, closedPort, refusingSshd, silentPort, sshLabPlan } from "../../test/helpers/ssh-lab.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { facts, VBOX } from "../../test/helpers/vagrant-host.js";
import { upstreamSource } from "../artifacts/package-source.js";
import { directoryStore } from "../artifacts/store.js";
import { clusterPaths } from "../plan/cluster-dir.js";
import type { Plan } from "../plan/types.js";
import { sshProvider } from "../providers/ssh.js";
import type { MachineProvider } from "../providers/types.js";
import { vagrantHostProblems } from "../providers/vagrant/host-checks.js";
import { createVagrantProvider } from "../providers/vagrant/provider.js";
import { verifyHostKey } from "../remote/known-hosts.js";
import { type UpOptions, up } from "./up.js";

/**
 * A dry run (unless told otherwise) in a fresh cluster directory: one SSH attempt per node,
 * with room for a loaded machine (the in-test server's handshake takes a while under load).
 */
async function run(t: TestContext, plan: Plan, provider: MachineProvider, more: Partial<UpOptions> = {}) {
  const clusterDir = await tempDir(t);
  const status = recordingStatus();
  const lines: string[] = [];
  const opts: UpOptions = {
    provider,
    packages: upstreamSource(plan, directoryStore("/nonexistent")),
    clusterDir,
    dryRun: true,
    sshConnect: { timeoutMs: 15_000, retries: 0 },
    log: (l) => lines.push(l),
    status,
    ...more,
  };
  return { opts, status, lines, clusterDir, result: () => up(plan, opts) };
}

const ids = (r: { problems: readonly { id: string; node?: string }[] }) => r.problems.map((p) => `${p.node} ${p.id}`);

describe("up --dry-run on existing hosts (ssh provider)", () => {
  it("a host that refuses is unreachable with ECONNREFUSED, not a machine to create", async (t) => {
    const refused = await closedPort();
    const s = await run(t, sshLabPlan([refused, refused, refused]), sshProvider);
    const r = await s.result();
    assert.deepEqual(ids(r), ["master-1 host.unreachable", "worker-1 host.unreachable", "worker-2 host.unreachable"]);
    assert.match(r.problems[0]?.message ?? "", /^master-1 is unreachable: ECONNREFUSED from 127\.0\.0\.1:\d+$/);
    assert.deepEqual(r.wouldCreate, []);
    assert.deepEqual(r.changes, []);
    assert.deepEqual(s.status.lines, []);
    assert.doesNotMatch(s.lines.join("\n"), /would create/);
  });

  it("a host that accepts and never answers times out", async (t) => {
    const silent = await silentPort(t);
    const dir = await tempDir(t);
    const s = await run(t, sshLabPlan([silent, silent, silent], await clientKey(dir)), sshProvider, {
      // The one case that waits for the timeout: keep it short.
      sshConnect: { timeoutMs: 500, retries: 0 },
    });
    const r = await s.result();
    assert.deepEqual(ids(r), ["master-1 host.ssh", "worker-1 host.ssh", "worker-2 host.ssh"]);
    assert.match(r.problems[0]?.message ?? "", /^master-1: cannot connect .* after 1 attempt: Timed out/);
  });

  it("a host that rejects the login is an authentication failure, with the fix", async (t) => {
    const sshd = await refusingSshd(t);
    const refused = await closedPort();
    const dir = await tempDir(t);
    const s = await run(t, sshLabPlan([sshd, refused, sshd], await clientKey(dir)), sshProvider);
    const r = await s.result();
    // Every problem at once: the unreachable host and the refused logins.
    assert.deepEqual(ids(r), ["worker-1 host.unreachable", "master-1 host.ssh", "worker-2 host.ssh"]);
    assert.match(r.problems[1]?.message ?? "", /^master-1: SSH authentication to root@127\.0\.0\.1:\d+ failed/);
    assert.match(r.problems[1]?.fix ?? "", /authorized_keys/);
  });

  it("a host whose key changed is refused, with --accept-new-host-keys as the fix", async (t) => {
    const sshd = await refusingSshd(t);
    const dir = await tempDir(t);
    const s = await run(t, sshLabPlan([sshd, sshd, sshd], await clientKey(dir)), sshProvider);
    await verifyHostKey(clusterPaths(s.clusterDir).knownHosts, "127.0.0.1", sshd, blob(7), "trust-on-first-use");
    const r = await s.result();
    assert.match(r.problems[0]?.message ?? "", /^master-1: host key for .* changed/);
    assert.match(r.problems[0]?.fix ?? "", /--accept-new-host-keys/);
  });

  it("a real up creates nothing: no machine step, the hosts' failure is the error", async (t) => {
    const refused = await closedPort();
    const dir = await tempDir(t);
    const plan = sshLabPlan([refused, refused, refused], await clientKey(dir));
    const s = await run(t, plan, sshProvider, { dryRun: false });
    await assert.rejects(s.result(), /master-1: cannot connect .*ECONNREFUSED/);
    assert.deepEqual(s.status.lines, []);
  });
});

describe("up --dry-run with the vagrant provider", () => {
  // No Vagrantfile in the cluster directory: every machine is absent, and vagrant never runs.
  const vagrant = (meminfo?: string) =>
    createVagrantProvider({
      env: { PATH: "/nonexistent" },
      checkHost: (plan, ctx) => vagrantHostProblems(plan, ctx, async () => facts(meminfo ? { meminfo } : {})),
    });

  it("runs the host checks up runs before creating the machines, and reports their problems", async (t) => {
    const s = await run(t, VBOX, vagrant("MemAvailable:    2048000 kB\n"));
    const r = await s.result();
    assert.deepEqual(
      r.problems.map((p) => p.id),
      ["memory.available"],
    );
    assert.match(r.problems[0]?.message ?? "", /only 2000 MiB is available/);
    assert.deepEqual(r.wouldCreate, ["master-1", "worker-1", "worker-2"]);
  });

  it("on a healthy host says what it would create, after logging what passed", async (t) => {
    const s = await run(t, VBOX, vagrant());
    const r = await s.result();
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.wouldCreate, ["master-1", "worker-1", "worker-2"]);
    assert.ok(
      s.lines.some((l) => /^host: vagrant 2\.3\.4 /.test(l)),
      s.lines.join("\n"),
    );
  });
});
