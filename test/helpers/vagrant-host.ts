// The plans the vagrant host-check tests judge (the default file on VirtualBox and on libvirt),
// and the one problem a check is expected to find.
import assert from "node:assert/strict";
import type { Plan } from "../../src/plan/types.js";
import { checkVagrantHost, type HostProblem, type VagrantHostFacts } from "../../src/providers/vagrant/host-checks.js";
import { planWith } from "./fixtures.js";

/** RawCluster is the part of the default cluster file the tests change. */
export interface RawCluster {
  provider: Record<string, unknown>;
  nodes: Record<string, unknown>[];
  network: Record<string, unknown>;
  addons: { metallb: { pools: string[] } };
}

/** libvirt switches the file to libvirt with `driver`. */
export const libvirt =
  (driver: "kvm" | "qemu" = "kvm") =>
  (raw: RawCluster) => {
    raw.provider.hypervisor = "libvirt";
    raw.provider.libvirtDriver = driver;
  };

/** VBOX is the default plan: VirtualBox, 192.168.56.0/24, 1 control plane (4096 MiB) + 2 workers (8192 MiB each). */
export const VBOX = planWith();
/** LIBVIRT is the default plan on libvirt (KVM). */
export const LIBVIRT = planWith(libvirt());

/** only is the one problem with `id`; fails when there is not exactly one. */
export function only(plan: Plan, f: VagrantHostFacts, id: string): HostProblem {
  const found = checkVagrantHost(plan, f).filter((p) => p.id === id);
  assert.equal(found.length, 1, `expected one ${id}, got ${JSON.stringify(checkVagrantHost(plan, f))}`);
  return found[0] as HostProblem;
}

/** links is `ip -j -4 addr show` output for interfaces with one address each (`a.b.c.d/n`). */
export const links = (...l: [ifname: string, address: string][]) =>
  JSON.stringify(
    l.map(([ifname, a]) => {
      const [local, prefixlen] = a.split("/");
      return { ifname, addr_info: [{ family: "inet", local, prefixlen: Number(prefixlen) }] };
    }),
  );
/** routes is `ip -j -4 route show` output for the given destinations and devices. */
export const routes = (...r: [dst: string, dev: string][]) => JSON.stringify(r.map(([dst, dev]) => ({ dst, dev })));

/** A host where every check passes for every plan these tests use. */
export const HEALTHY: VagrantHostFacts = {
  platform: "linux",
  arch: "x64",
  vagrantVersion: { ok: true, output: "Vagrant 2.3.4\n" },
  vagrantPlugins: { ok: true, output: "vagrant-libvirt (0.11.2, system)\n" },
  vboxManageVersion: { ok: true, output: "7.0.20r163906\n" },
  vboxdrv: true,
  vboxNetworksConf: "* 192.168.56.0/21 10.0.0.0/8\n",
  virshConnect: { ok: true, output: "qemu:///system\n\n" },
  libvirtSockets: ["/var/run/libvirt/libvirt-sock"],
  kvm: { exists: true, readWrite: true },
  cpuFlags: "fpu vme de pse tsc msr pae mce cx8 apic sep vmx ssse3",
  ipRoutes: routes(["default", "eth0"], ["192.0.2.0/24", "eth0"]),
  ipAddrs: links(["lo", "127.0.0.1/8"], ["eth0", "192.0.2.2/24"]),
  meminfo: "MemTotal:       65843200 kB\nMemFree:         1000000 kB\nMemAvailable:   40000000 kB\n",
};

/** facts is {@link HEALTHY} with some facts changed. */
export const facts = (change: Partial<VagrantHostFacts>): VagrantHostFacts => ({ ...HEALTHY, ...change });
