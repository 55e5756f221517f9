// The vagrant provider's host checks: the pure verdicts on facts built for every outcome (pass
// and fail of each check, networks.conf parsing, route overlap both ways, the hypervisor's own
// interfaces left out).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { planWith } from "../../../test/helpers/fixtures.js";
import {
  facts,
  HEALTHY,
  LIBVIRT,
  libvirt,
  links,
  only,
  type RawCluster,
  routes,
  VBOX,
} from "../../../test/helpers/vagrant-host.js";
import type { Plan } from "../../plan/types.js";
import { PINNED } from "../../versions.js";
import {
  checkVagrantHost,
  compareDottedVersions,
  evaluateVagrantHost,
  hasPlugin,
  hostNetworks,
  memAvailableMiB,
  parseVagrantVersion,
  parseVBoxNetworksConf,
  parseVBoxVersion,
  type VagrantHostFacts,
} from "./host-checks.js";

const cidr = (network: string, first: string, pool: string) => (raw: RawCluster) => {
  raw.network = { cidr: network, firstAddress: first };
  raw.addons.metallb.pools = [pool];
};

const LIBVIRT_QEMU = planWith(libvirt("qemu"));
const TEN = planWith(cidr("10.77.0.0/24", "10.77.0.11", "10.77.0.46-10.77.0.56"));
const TEN_WIDE = planWith(cidr("10.77.0.0/16", "10.77.0.11", "10.77.0.46-10.77.0.56"));

const ids = (plan: Plan, f: VagrantHostFacts) => checkVagrantHost(plan, f).map((p) => p.id);

function outcomeOf(plan: Plan, f: VagrantHostFacts, check: string) {
  return evaluateVagrantHost(plan, f).find((r) => r.check === check)?.outcome;
}

test("a healthy host passes every check, for each hypervisor and driver", () => {
  for (const plan of [VBOX, LIBVIRT, LIBVIRT_QEMU, TEN]) assert.deepEqual(checkVagrantHost(plan, HEALTHY), []);
  const checks = (plan: Plan) => evaluateVagrantHost(plan, HEALTHY).map((r) => r.check);
  assert.deepEqual(checks(VBOX), [
    "vagrant",
    "virtualbox",
    "virtualisation",
    "hostonly-range",
    "host-networks",
    "memory",
  ]);
  assert.deepEqual(checks(LIBVIRT), [
    "vagrant",
    "libvirt-plugin",
    "libvirtd",
    "virtualisation",
    "host-networks",
    "memory",
  ]);
  // Software emulation needs no /dev/kvm: no virtualisation check at all.
  assert.ok(!checks(LIBVIRT_QEMU).includes("virtualisation"));
});

test("a non-vagrant plan is a programming error", () => {
  const nspawn = planWith((raw) => {
    raw.provider = { name: "nspawn" };
  });
  assert.throws(() => checkVagrantHost(nspawn, HEALTHY), /nspawn plan/);
});

describe("vagrant", () => {
  test("versions parse, after warnings too, and compare numerically", () => {
    assert.equal(parseVagrantVersion("Vagrant 2.3.4\n"), "2.3.4");
    assert.equal(parseVagrantVersion("/usr/lib/ruby/x.rb:1: warning: already initialized\nVagrant 2.4.10\n"), "2.4.10");
    assert.equal(parseVagrantVersion("command not found"), undefined);
    assert.ok(compareDottedVersions("2.4.10", "2.4.9") > 0);
    assert.ok(compareDottedVersions("2.3", "2.3.0") === 0);
    assert.ok(compareDottedVersions("2.2.19", PINNED.vagrant.minimum) < 0);
  });

  test("missing: install it from the distribution or HashiCorp", () => {
    const p = only(VBOX, facts({ vagrantVersion: null }), "vagrant.missing");
    assert.match(p.message, /not on PATH/);
    assert.match(p.fix, /apt-get install vagrant/);
    assert.match(p.fix, /developer\.hashicorp\.com/);
    assert.match(p.fix, new RegExp(PINNED.vagrant.minimum.replaceAll(".", "\\.")));
    // No plugin verdict without vagrant: the one problem says it all.
    assert.deepEqual(ids(LIBVIRT, facts({ vagrantVersion: null, vagrantPlugins: null })), ["vagrant.missing"]);
  });

  test("older than the pinned minimum names both versions", () => {
    const p = only(VBOX, facts({ vagrantVersion: { ok: true, output: "Vagrant 2.2.19\n" } }), "vagrant.version");
    assert.match(p.message, /2\.2\.19 is older than 2\.3\.0/);
    assert.match(p.fix, /upgrade/);
    assert.deepEqual(ids(VBOX, facts({ vagrantVersion: { ok: true, output: "Vagrant 2.3.0\n" } })), []);
  });

  test("a vagrant that prints no version is reported with its output", () => {
    const p = only(
      VBOX,
      facts({ vagrantVersion: { ok: false, output: "ruby: cannot load such file -- vagrant" } }),
      "vagrant.broken",
    );
    assert.match(p.message, /cannot load such file/);
  });
});

describe("VirtualBox", () => {
  test("missing: install VirtualBox 7.x (or use libvirt)", () => {
    const p = only(VBOX, facts({ vboxManageVersion: null }), "virtualbox.missing");
    assert.match(p.fix, /VirtualBox 7\.x/);
    assert.match(p.fix, /provider\.hypervisor: libvirt/);
    // A libvirt plan does not care.
    assert.deepEqual(ids(LIBVIRT, facts({ vboxManageVersion: null, vboxdrv: false })), []);
  });

  test("versions parse after the kernel-module warning VBoxManage prints first", () => {
    const warned =
      "WARNING: The vboxdrv kernel module is not loaded. Either there is no module\n         available for the current kernel.\n\n7.0.10r158379\n";
    assert.equal(parseVBoxVersion(warned), "7.0.10");
    assert.equal(parseVBoxVersion("6.1.50_Ubuntur161033\n"), "6.1.50");
  });

  test("a VBoxManage that fails is reported with its output", () => {
    const f = facts({ vboxManageVersion: { ok: false, output: "VBoxManage: error: failed to initialize COM" } });
    assert.match(only(VBOX, f, "virtualbox.broken").message, /failed to initialize COM/);
  });

  test("no /dev/vboxdrv on Linux: sudo /sbin/vboxconfig; not checked elsewhere", () => {
    const p = only(VBOX, facts({ vboxdrv: false }), "virtualbox.vboxdrv");
    assert.match(p.message, /VirtualBox 7\.0\.20 .*no \/dev\/vboxdrv/);
    assert.match(p.fix, /sudo \/sbin\/vboxconfig/);
    assert.deepEqual(ids(VBOX, facts({ vboxdrv: false, platform: "darwin", cpuFlags: null })), []);
  });
});

describe("libvirt", () => {
  test("the vagrant-libvirt plugin, as Debian's package and as a gem", () => {
    assert.ok(hasPlugin("vagrant-libvirt (0.11.2, system)\n", "vagrant-libvirt"));
    assert.ok(hasPlugin("vagrant-hostmanager (1.8.10, global)\nvagrant-libvirt (0.12.2, global)\n", "vagrant-libvirt"));
    assert.ok(!hasPlugin("vagrant-libvirt-extras (0.1.0, global)\n", "vagrant-libvirt"));
    assert.ok(!hasPlugin("No plugins installed.\n", "vagrant-libvirt"));
    const p = only(
      LIBVIRT,
      facts({ vagrantPlugins: { ok: true, output: "No plugins installed.\n" } }),
      "libvirt.plugin",
    );
    assert.match(p.fix, /apt-get install vagrant-libvirt/);
    assert.match(p.fix, /vagrant plugin install vagrant-libvirt/);
    const broken = only(
      LIBVIRT,
      facts({ vagrantPlugins: { ok: false, output: "Vagrant failed to initialize" } }),
      "libvirt.plugin",
    );
    assert.match(broken.message, /could not list .*Vagrant failed to initialize/);
  });

  test("libvirtd not running (no socket): start it", () => {
    const f = facts({
      libvirtSockets: [],
      virshConnect: { ok: false, output: "error: failed to connect to the hypervisor" },
    });
    const p = only(LIBVIRT, f, "libvirt.daemon");
    assert.match(p.message, /not running/);
    assert.match(p.fix, /systemctl enable --now libvirtd/);
    // The same without virsh: the socket alone tells.
    assert.match(only(LIBVIRT, facts({ libvirtSockets: [], virshConnect: null }), "libvirt.daemon").fix, /libvirtd/);
  });

  test("socket there but the connection refused: join group libvirt", () => {
    const denied = "error: Failed to connect socket to '/var/run/libvirt/libvirt-sock': Permission denied";
    const p = only(
      LIBVIRT,
      facts({ virshConnect: { ok: false, output: `error: failed to connect\n${denied}` } }),
      "libvirt.daemon",
    );
    assert.match(p.message, /Permission denied/);
    assert.match(p.fix, /usermod -aG libvirt/);
  });

  test("a socket and no virsh to try it is not a problem, but is said", () => {
    assert.deepEqual(ids(LIBVIRT, facts({ virshConnect: null })), []);
    assert.ok("skip" in (outcomeOf(LIBVIRT, facts({ virshConnect: null }), "libvirtd") ?? {}));
    // virtqemud's socket (modular daemons) counts as well.
    assert.deepEqual(
      ids(LIBVIRT, facts({ virshConnect: null, libvirtSockets: ["/var/run/libvirt/virtqemud-sock"] })),
      [],
    );
  });
});

describe("hardware virtualisation", () => {
  test("kvm driver: /dev/kvm missing → firmware, modules, or libvirtDriver: qemu", () => {
    const p = only(LIBVIRT, facts({ kvm: { exists: false, readWrite: false } }), "cpu.kvm");
    assert.match(p.message, /\/dev\/kvm does not exist/);
    assert.match(p.fix, /VT-x\/AMD-V/);
    assert.match(p.fix, /modprobe kvm_intel/);
    assert.match(p.fix, /libvirtDriver: qemu/);
  });

  test("kvm driver: /dev/kvm not read-writable → group kvm, or qemu", () => {
    const p = only(LIBVIRT, facts({ kvm: { exists: true, readWrite: false } }), "cpu.kvm");
    assert.match(p.message, /cannot read and write/);
    assert.match(p.fix, /usermod -aG kvm/);
  });

  test("qemu driver: no /dev/kvm needed", () => {
    assert.deepEqual(ids(LIBVIRT_QEMU, facts({ kvm: { exists: false, readWrite: false } })), []);
  });

  test("VirtualBox: no vmx/svm flag → firmware; svm passes; other architectures and no cpuinfo are skipped", () => {
    const p = only(VBOX, facts({ cpuFlags: "fpu vme de pse tsc msr pae hypervisor" }), "cpu.virtualisation");
    assert.match(p.message, /neither vmx nor svm/);
    assert.match(p.fix, /firmware/);
    // "vmx" only as a whole flag, not inside another.
    assert.deepEqual(ids(VBOX, facts({ cpuFlags: "fpu vmxnotreally" })), ["cpu.virtualisation"]);
    assert.deepEqual(ids(VBOX, facts({ cpuFlags: "fpu svm npt" })), []);
    assert.ok("skip" in (outcomeOf(VBOX, facts({ cpuFlags: null }), "virtualisation") ?? {}));
    assert.ok("skip" in (outcomeOf(VBOX, facts({ arch: "arm64", cpuFlags: null }), "virtualisation") ?? {}));
    // The libvirt plans do not read the CPU flags (/dev/kvm tells).
    assert.deepEqual(ids(LIBVIRT, facts({ cpuFlags: "fpu" })), []);
  });
});

describe("VirtualBox host-only ranges (/etc/vbox/networks.conf)", () => {
  test("absent file: the default 192.168.56.0/21 only", () => {
    const n = parseVBoxNetworksConf(null);
    assert.deepEqual(
      n.ipv4.map((r) => r.text),
      ["192.168.56.0/21"],
    );
    assert.equal(n.isDefault, true);
  });

  test("comments, several ranges per line, IPv6, bare addresses, host bits, junk", () => {
    const n = parseVBoxNetworksConf(
      [
        "# lab ranges",
        "  # indented comment * 172.16.0.0/12",
        "* 10.0.0.0/8 192.168.0.0/16",
        "* 2001::/64",
        "*172.20.0.0/16\t fd00::/8   # no space after the star, a tab, a trailing comment",
        "* 192.168.100.56/21",
        "* 203.0.113.7",
        "10.9.0.0/16 without a star is ignored",
        "* not-a-network 10.0.0.0/33",
        "",
      ].join("\n"),
    );
    assert.deepEqual(
      n.ipv4.map((r) => r.text),
      ["10.0.0.0/8", "192.168.0.0/16", "172.20.0.0/16", "192.168.96.0/21", "203.0.113.7/32"],
    );
    assert.deepEqual(n.ipv6, ["2001::/64", "fd00::/8"]);
    assert.deepEqual(n.invalid, ["not-a-network", "10.0.0.0/33"]);
    assert.equal(n.isDefault, false);
  });

  test("an empty file allows nothing (it replaces the default)", () => {
    assert.deepEqual(parseVBoxNetworksConf("").ipv4, []);
    assert.deepEqual(parseVBoxNetworksConf("# nothing yet\n").ipv4, []);
  });

  test("the default lab network with no file passes", () => {
    assert.deepEqual(ids(VBOX, facts({ vboxNetworksConf: null })), []);
  });

  test("no file and a lab outside the default: create it, keeping the default range", () => {
    const p = only(TEN, facts({ vboxNetworksConf: null }), "virtualbox.hostonly-range");
    assert.match(p.message, /only in 192\.168\.56\.0\/21 .*10\.77\.0\.0\/24 is outside/);
    assert.match(p.fix, /`\* 192\.168\.56\.0\/21 10\.77\.0\.0\/24`/);
    assert.match(p.fix, /sudo tee -a \/etc\/vbox\/networks\.conf/);
  });

  test("a file without the default range: the default lab network is refused; the line names the lab only", () => {
    const p = only(VBOX, facts({ vboxNetworksConf: "* 10.0.0.0/8\n" }), "virtualbox.hostonly-range");
    assert.match(p.fix, /add to \/etc\/vbox\/networks\.conf the line `\* 192\.168\.56\.0\/24`/);
    const empty = only(VBOX, facts({ vboxNetworksConf: "* 192.168.56.0/33\n" }), "virtualbox.hostonly-range");
    assert.match(
      empty.message,
      /only in no IPv4 range \(\/etc\/vbox\/networks\.conf; entries not understood: 192\.168\.56\.0\/33\)/,
    );
    assert.doesNotMatch(empty.fix, /choose a network\.cidr inside/);
  });

  test("the whole lab network must lie inside one range", () => {
    // 10.77.0.0/16 is not inside 10.77.0.0/24 even though they overlap.
    assert.deepEqual(ids(TEN_WIDE, facts({ vboxNetworksConf: "* 10.77.0.0/24\n" })), ["virtualbox.hostonly-range"]);
    assert.deepEqual(ids(TEN_WIDE, facts({ vboxNetworksConf: "* 10.0.0.0/8\n" })), []);
  });

  test("only VirtualBox ≥ 6.1.28 (or unknown) on Linux/macOS < 7, and only for VirtualBox plans", () => {
    const refused = { vboxNetworksConf: "* 10.0.0.0/8\n" };
    const v = (output: string) => ({ ...refused, vboxManageVersion: { ok: true, output } });
    assert.deepEqual(ids(VBOX, facts(v("6.1.26r145957\n"))), []);
    assert.deepEqual(ids(VBOX, facts(v("6.1.28r147628\n"))), ["virtualbox.hostonly-range"]);
    // VirtualBox missing: the version is unknown, the range is still checked.
    assert.deepEqual(ids(VBOX, facts({ ...refused, vboxManageVersion: null })), [
      "virtualbox.missing",
      "virtualbox.hostonly-range",
    ]);
    assert.deepEqual(ids(VBOX, facts({ ...v("7.0.20r163906\n"), platform: "darwin", cpuFlags: null })), []);
    assert.deepEqual(ids(VBOX, facts({ ...v("6.1.50r161033\n"), platform: "darwin", cpuFlags: null })), [
      "virtualbox.hostonly-range",
    ]);
    assert.deepEqual(ids(VBOX, facts({ ...refused, platform: "win32", cpuFlags: null })), []);
    assert.deepEqual(ids(LIBVIRT, facts(refused)), []);
  });
});

describe("host networks that clash with the lab network", () => {
  test("routes and addresses parse; default routes, routes without a device and non-unicast are left out", () => {
    const r = JSON.stringify([
      { dst: "default", gateway: "192.168.1.1", dev: "wlan0" },
      { dst: "0.0.0.0/0", dev: "wg0" },
      { dst: "192.168.1.0/24", dev: "wlan0", protocol: "kernel", scope: "link" },
      { dst: "10.1.2.3", dev: "tun0" },
      { type: "blackhole", dst: "10.99.0.0/16" },
      { type: "unreachable", dst: "10.98.0.0/16", dev: "lo" },
    ]);
    const networks = hostNetworks(r, links(["wlan0", "192.168.1.23/24"], ["docker0", "172.17.0.1/16"]));
    assert.deepEqual(
      networks?.map((n) => `${n.network.text} ${n.dev} ${n.from}`),
      [
        "192.168.1.0/24 wlan0 route",
        "10.1.2.3/32 tun0 route",
        "192.168.1.0/24 wlan0 address",
        "172.17.0.0/16 docker0 address",
      ],
    );
    assert.equal(hostNetworks(null, null), undefined);
    assert.equal(hostNetworks("not json", "{}"), undefined);
    assert.deepEqual(hostNetworks("[]", null), []);
  });

  test("a home LAN on the lab network (wlan0): choose another network.cidr", () => {
    const f = facts({
      ipRoutes: routes(["default", "wlan0"], ["192.168.56.0/24", "wlan0"]),
      ipAddrs: links(["wlan0", "192.168.56.23/24"]),
    });
    const p = only(VBOX, f, "network.host-route");
    // The route and the address name the same network on the same device: said once.
    assert.match(p.message, /overlaps this host's 192\.168\.56\.0\/24 on wlan0: /);
    assert.match(p.fix, /another network\.cidr/);
    assert.deepEqual(ids(LIBVIRT, f), ["network.host-route"]);
  });

  test("overlap both ways: a host route containing the lab, and the lab containing a host route", () => {
    const wide = facts({ ipRoutes: routes(["192.168.0.0/16", "eth1"]), ipAddrs: null });
    assert.match(only(VBOX, wide, "network.host-route").message, /192\.168\.0\.0\/16 on eth1/);
    const narrow = facts({ ipRoutes: routes(["10.77.3.0/24", "tun0"], ["10.77.9.9", "wg0"]), ipAddrs: null });
    assert.match(
      only(TEN_WIDE, narrow, "network.host-route").message,
      /10\.77\.3\.0\/24 on tun0, 10\.77\.9\.9\/32 on wg0/,
    );
    // Neighbours that do not overlap: 10.77.1.0/24 is outside 10.77.0.0/24.
    assert.deepEqual(ids(TEN, facts({ ipRoutes: routes(["10.77.1.0/24", "tun0"], ["10.76.0.0/16", "tun1"]) })), []);
  });

  test("the hypervisor's own interface is left out, the other hypervisor's is not", () => {
    const f = facts({
      ipRoutes: routes(["192.168.56.0/24", "vboxnet0"], ["192.168.56.0/24", "virbr1"]),
      ipAddrs: links(["vboxnet0", "192.168.56.1/24"], ["virbr1", "192.168.56.1/24"]),
    });
    assert.match(only(VBOX, f, "network.host-route").message, /192\.168\.56\.0\/24 on virbr1: /);
    assert.doesNotMatch(only(VBOX, f, "network.host-route").message, /vboxnet0/);
    assert.match(only(LIBVIRT, f, "network.host-route").message, /192\.168\.56\.0\/24 on vboxnet0: /);
    assert.doesNotMatch(only(LIBVIRT, f, "network.host-route").message, /virbr1/);
    // Only vboxnetN / virbrN: a bridge merely named like them is a host network.
    assert.deepEqual(ids(VBOX, facts({ ipRoutes: routes(["192.168.56.0/24", "vboxnet-lan"]), ipAddrs: null })), [
      "network.host-route",
    ]);
  });

  test("nothing to read is not a problem, but is said", () => {
    assert.deepEqual(ids(VBOX, facts({ ipRoutes: null, ipAddrs: null })), []);
    assert.ok("skip" in (outcomeOf(VBOX, facts({ ipRoutes: null, ipAddrs: null }), "host-networks") ?? {}));
  });
});

describe("memory", () => {
  test("MemAvailable parses to MiB", () => {
    assert.equal(memAvailableMiB("MemTotal: 1 kB\nMemAvailable:   24063420 kB\n"), 23499);
    assert.equal(memAvailableMiB("MemTotal: 1 kB\n"), undefined);
  });

  test("the VMs plus 1 GiB must fit; the fix names both numbers", () => {
    // The default plan: 4096 + 2 × 8192 = 20480 MiB, + 1024 for the host = 21504 MiB.
    const kib = (mib: number) => `MemAvailable:   ${mib * 1024} kB\n`;
    assert.deepEqual(ids(VBOX, facts({ meminfo: kib(21504) })), []);
    const p = only(VBOX, facts({ meminfo: kib(21503) }), "memory.available");
    assert.match(p.message, /20480 MiB for 3 VMs plus 1024 MiB for the host make 21504 MiB, but only 21503 MiB/);
    assert.match(p.fix, /at most 20479 MiB \(now 20480 MiB\)/);
    assert.match(p.fix, /nodes\[\]\.memory or the node counts/);
    assert.ok("skip" in (outcomeOf(VBOX, facts({ meminfo: null }), "memory") ?? {}));
  });
});

test("several problems at once are all reported", () => {
  const f = facts({
    vagrantVersion: { ok: true, output: "Vagrant 2.2.19\n" },
    vboxManageVersion: null,
    cpuFlags: "fpu",
    vboxNetworksConf: null,
    ipRoutes: routes(["10.77.0.0/24", "eth0"]),
    meminfo: "MemAvailable: 1048576 kB\n",
  });
  assert.deepEqual(ids(TEN, f), [
    "vagrant.version",
    "virtualbox.missing",
    "cpu.virtualisation",
    "virtualbox.hostonly-range",
    "network.host-route",
    "memory.available",
  ]);
});
