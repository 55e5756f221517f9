// The vagrant provider's host checks on this very host: the facts gathered for real (vagrant,
// its plugins, /dev/kvm, routes, memory) and cross-checked against other sources (Node's os
// module, the device files), and assertVagrantHost's one error.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { networkInterfaces, totalmem } from "node:os";
import { describe, test } from "node:test";
import { requireTool } from "../../../test/helpers/tools.js";
import { LIBVIRT, only, VBOX } from "../../../test/helpers/vagrant-host.js";
import { UserError } from "../../errors.js";
import { PINNED } from "../../versions.js";
import { which } from "../host.js";
import {
  assertVagrantHost,
  checkVagrantHost,
  compareDottedVersions,
  gatherVagrantHostFacts,
  hasPlugin,
  hostNetworks,
  memAvailableMiB,
  networkOf,
  parseVagrantVersion,
} from "./host-checks.js";

describe("this host, for real", () => {
  const vboxInstalled = which("VBoxManage") !== undefined || which("vboxmanage") !== undefined;

  test("libvirt plan: the facts are JSON, and vagrant, the plugin, /dev/kvm, routes and memory read right", async (t) => {
    if (!requireTool(t, "vagrant")) return;
    const f = await gatherVagrantHostFacts(LIBVIRT);
    assert.deepEqual(JSON.parse(JSON.stringify(f)), f);
    t.diagnostic(`vagrant: ${f.vagrantVersion?.output.trim()}; plugins: ${f.vagrantPlugins?.output.trim()}`);

    const version = parseVagrantVersion(f.vagrantVersion?.output ?? "");
    assert.ok(version, "vagrant --version parsed");
    assert.equal(f.vagrantVersion?.output.trim(), `Vagrant ${version}`);
    assert.ok(compareDottedVersions(version, PINNED.vagrant.minimum) >= 0);
    assert.ok(hasPlugin(f.vagrantPlugins?.output ?? "", "vagrant-libvirt"), "vagrant-libvirt is seen");

    const problems = checkVagrantHost(LIBVIRT, f);
    assert.deepEqual(
      problems.filter((p) => p.id.startsWith("vagrant.") || p.id === "libvirt.plugin"),
      [],
    );
    assert.equal(f.kvm.exists, existsSync("/dev/kvm"));
    if (f.kvm.exists && f.kvm.readWrite) assert.ok(!problems.some((p) => p.id === "cpu.kvm"));
    // libvirtd may or may not run here: whatever the facts say, the verdict follows them.
    const daemon = problems.find((p) => p.id === "libvirt.daemon");
    assert.equal(
      daemon === undefined,
      f.virshConnect?.ok === true || (f.virshConnect === null && f.libvirtSockets.length > 0),
    );
    if (f.libvirtSockets.length === 0) assert.match(daemon?.message ?? "", /not running/);

    // Every IPv4 address Node sees is among the host networks read from `ip -j`.
    if (which("ip")) {
      const networks = hostNetworks(f.ipRoutes, f.ipAddrs) ?? [];
      for (const [dev, addrs] of Object.entries(networkInterfaces())) {
        for (const a of addrs ?? []) {
          if (a.family !== "IPv4") continue;
          assert.ok(
            networks.some(
              (n) => n.dev === dev && n.from === "address" && n.network.text === networkOf(a.cidr ?? "")?.text,
            ),
            `${a.cidr} on ${dev} in ${JSON.stringify(networks)}`,
          );
        }
      }
    }
    const mib = memAvailableMiB(f.meminfo ?? "");
    assert.ok(mib !== undefined && mib > 0 && mib <= totalmem() / 2 ** 20, `MemAvailable ${mib} MiB`);
  });

  test("virtualbox plan: VirtualBox absent is reported with its fix", async (t) => {
    if (!requireTool(t, "vagrant")) return;
    if (vboxInstalled) return t.skip("VirtualBox is installed on this host");
    const f = await gatherVagrantHostFacts(VBOX);
    assert.equal(f.vboxManageVersion, null);
    assert.equal(f.vagrantPlugins, null, "no plugin listing for a VirtualBox plan");
    const p = only(VBOX, f, "virtualbox.missing");
    assert.match(p.fix, /install VirtualBox 7\.x/);
  });

  test("assertVagrantHost throws one UserError listing the VirtualBox problem, after logging what passed", async (t) => {
    if (!requireTool(t, "vagrant")) return;
    if (vboxInstalled) return t.skip("VirtualBox is installed on this host");
    const lines: string[] = [];
    const err = await assertVagrantHost(VBOX, { clusterDir: "/nonexistent", log: (l) => lines.push(l) }).then(
      () => assert.fail("assertVagrantHost passed on a host without VirtualBox"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof UserError);
    assert.equal(err.message, "the host is not ready for the vagrant provider");
    assert.match(
      err.details ?? "",
      /^- VirtualBox is not installed \(VBoxManage is not on PATH\)\n {2}fix: install VirtualBox 7\.x/m,
    );
    assert.equal(err.exitCode, 2);
    assert.ok(
      lines.some((l) => /^host: vagrant \d+\.\d+\.\d+ \(at least /.test(l)),
      lines.join("\n"),
    );
  });
});
