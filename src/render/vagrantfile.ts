/**
 * The Vagrantfile of a cluster on the vagrant provider: one VM per node, named
 * `<cluster>.<node>`, on a host-only private network with the plan's static address, for
 * VirtualBox (the classic lab's hypervisor) or libvirt. Pure: a plan in, Ruby text out.
 *
 * VirtualBox settings and why:
 * - the host-only NIC (the second one) in promiscuous mode `allow-all`: MetalLB's L2
 *   announcements for LoadBalancer addresses are answered only then (metallb#253, #535);
 * - linked clones: one base disk for every node, not a full copy each;
 * - the default synced folder off: nodes need nothing from the host's directory, and guest
 *   additions may not match the box.
 * - `ssh.insert_key` on (Vagrant's default, which a box's own Vagrantfile could turn off): a box
 *   accepts Vagrant's insecure key, which each VM replaces with a key of its own.
 * - the host I/O cache of the disk controller off (otherwise VirtualBox caches guest disk
 *   writes in host RAM, which runs out under disk load): set when the box's controller is known (the pinned box's, by name);
 *   `kubelab doctor` checks it on any box.
 * libvirt: the lab network is isolated (no forwarding, as VirtualBox's host-only network) and
 * without DHCP, which would hand out MetalLB's pool addresses; NICs are virtio.
 */
import type { Plan } from "../plan/types.js";

/** A Ruby double-quoted string literal: JSON's escapes, and `#` escaped so nothing interpolates. */
export function rubyString(s: string): string {
  return JSON.stringify(s).replaceAll("#", "\\#");
}

/**
 * The VM name of a node: `<cluster>.<node>` (what `kubelab doctor` looks VMs up by). Cluster
 * and node names have no `.`, so no two nodes share it; `<cluster>-<node>` could
 * (`lab` + `a-b`, `lab-a` + `b`).
 */
export const vmName = (plan: Pick<Plan, "name">, node: string) => `${plan.name}.${node}`;

/** The VM name earlier versions gave (VirtualBox renames the VM at its next boot); still looked for. */
export const legacyVmName = (plan: Pick<Plan, "name">, node: string) => `${plan.name}-${node}`;

/** renderVagrantfile renders the plan's Vagrantfile; the plan must use the vagrant provider. */
export function renderVagrantfile(plan: Plan): string {
  const provider = plan.provider;
  if (provider.name !== "vagrant") throw new Error(`renderVagrantfile: the plan's provider is ${provider.name}`);
  const netmask = prefixToNetmask(plan.network.prefix);
  const nodes = plan.nodes.map(
    (n) =>
      `    { name: ${rubyString(n.name)}, vm: ${rubyString(vmName(plan, n.name))}, ip: ${rubyString(n.ip)}, cpus: ${n.cpus}, memory: ${n.memoryMiB} },`,
  );
  const providerBlock =
    provider.hypervisor === "virtualbox"
      ? [
          '      m.vm.provider "virtualbox" do |vb|',
          "        vb.name = node[:vm]",
          "        vb.cpus = node[:cpus]",
          "        vb.memory = node[:memory]",
          "        vb.linked_clone = true",
          "        # NIC 2 is the host-only network: MetalLB L2 needs it promiscuous (metallb#253).",
          '        vb.customize ["modifyvm", :id, "--nicpromisc2", "allow-all"]',
          ...(provider.diskController
            ? [
                `        vb.customize ["storagectl", :id, "--name", ${rubyString(provider.diskController)}, "--hostiocache", "off"]`,
              ]
            : []),
          "      end",
        ]
      : [
          '      m.vm.provider "libvirt" do |lv|',
          "        lv.default_prefix = " + rubyString(`${plan.name}.`),
          "        lv.cpus = node[:cpus]",
          "        lv.memory = node[:memory]",
          '        lv.nic_model_type = "virtio"',
          `        lv.driver = ${rubyString(provider.libvirtDriver)}`,
          "      end",
        ];
  return [
    `# The Vagrantfile of kubelab cluster ${plan.name}: kubelab up writes it, edits are overwritten.`,
    'Vagrant.require_version ">= 2.3.0"',
    "",
    'Vagrant.configure("2") do |config|',
    `  config.vm.box = ${rubyString(provider.box)}`,
    ...(provider.boxVersion ? [`  config.vm.box_version = ${rubyString(provider.boxVersion)}`] : []),
    '  config.vm.synced_folder ".", "/vagrant", disabled: true',
    "  # Each VM gets a login key of its own at its first boot, whatever the box's Vagrantfile says.",
    "  config.ssh.insert_key = true",
    "",
    "  [",
    ...nodes,
    "  ].each do |node|",
    "    config.vm.define node[:name] do |m|",
    "      m.vm.hostname = node[:name]",
    `      m.vm.network "private_network", ip: node[:ip], netmask: ${rubyString(netmask)}${
      provider.hypervisor === "libvirt" ? ', libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"' : ""
    }`,
    ...providerBlock,
    "    end",
    "  end",
    "end",
    "",
  ].join("\n");
}

function prefixToNetmask(prefix: number): string {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (mask >>> s) & 255).join(".");
}
