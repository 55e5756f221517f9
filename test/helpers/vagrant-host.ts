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
