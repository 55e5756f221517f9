/**
 * Checks of the node VMs as VirtualBox has them (evidence: src/doctor/virtualbox.ts): the
 * host-only NIC's promiscuous mode and the host I/O cache of the storage controllers. The NICs' attachments come from `showvminfo --machinereadable`;
 * the policy and the cache flag from the VM's settings file, the only place VirtualBox has them
 * in a form that is not translated.
 */
import type { Plan } from "../../plan/types.js";
import type { Check, Evidence, Finding, VirtualBoxVmEvidence } from "../types.js";
import { onVirtualBox, parseMachineReadable, parseVboxSettings } from "../virtualbox.js";

/** The node VMs in plan order. */
function vms(e: Evidence, plan: Plan): [string, VirtualBoxVmEvidence][] {
  const vb = e.virtualbox ?? {};
  return plan.nodes.flatMap((n) => (vb[n.name] ? [[n.name, vb[n.name]] as [string, VirtualBoxVmEvidence]] : []));
}

/** Settings-file values of promiscuousModePolicy to VBoxManage's words (the attribute is left out for Deny). */
const POLICY: Record<string, string> = { Deny: "deny", AllowNetwork: "allow-vms", AllowAll: "allow-all" };

/** The host-only NICs of a VM: 1-based number and the host-only interface (or network, VirtualBox 7 on macOS). */
function hostOnlyNics(info: ReadonlyMap<string, string>): { n: number; attachment: string; network: string }[] {
  const nics: { n: number; attachment: string; network: string }[] = [];
  for (let n = 1; info.has(`nic${n}`); n++) {
    const attachment = info.get(`nic${n}`) as string;
    if (attachment === "hostonly") nics.push({ n, attachment, network: info.get(`hostonlyadapter${n}`) ?? "" });
    else if (attachment === "hostonlynetwork")
      nics.push({ n, attachment, network: info.get(`hostonly-network${n}`) ?? "" });
  }
  return nics;
}

const unreadSettings = (vm: VirtualBoxVmEvidence, info: ReadonlyMap<string, string>, what: string): Finding => ({
  verdict: "warn",
  subject: vm.name,
  evidence: [
    `the VM's settings file ${info.get("CfgFile") ?? "(showvminfo has no CfgFile)"} could not be read, and showvminfo --machinereadable has no ${what}`,
  ],
  fix: `read it as the user that runs VirtualBox (VBoxManage showvminfo ${vm.name} shows it in its human-readable output)`,
});

function promiscuous(node: string, vm: VirtualBoxVmEvidence): Finding[] {
  const info = parseMachineReadable(vm.showvminfo);
  const nics = hostOnlyNics(info);
  if (nics.length === 0) {
    const all = [...info.entries()]
      .filter(([k, v]) => /^nic\d+$/.test(k) && v !== "none")
      .map(([k, v]) => `${k}="${v}"`);
    return [
      {
        verdict: "warn",
        subject: vm.name,
        evidence: [`no NIC of ${node}'s VM is on a host-only network (${all.join(", ") || "no NIC"})`],
        fix: "kubelab's Vagrantfile puts the lab network (network.cidr) on NIC 2 as a host-only private network; recreate the VM with kubelab up",
      },
    ];
  }
  if (vm.settings === null) return [unreadSettings(vm, info, "promiscuous-mode policy")];
  const { adapters } = parseVboxSettings(vm.settings);
  const cfg = info.get("CfgFile") ?? "the settings file";
  const running = info.get("VMState") === "running";
  return nics.map(({ n, attachment, network }) => {
    const adapter = adapters.find((a) => a.slot === n - 1);
    const raw = adapter?.attributes.promiscuousModePolicy;
    const policy = POLICY[raw ?? "Deny"] ?? raw ?? "deny";
    const nic = `nic${n}="${attachment}" ${attachment === "hostonly" ? "hostonlyadapter" : "hostonly-network"}${n}="${network}"`;
    if (policy === "allow-all")
      return { verdict: "pass", subject: vm.name, evidence: [`${nic}, promiscuous mode allow-all`] };
    return {
      verdict: "fail",
      subject: vm.name,
      evidence: [
        `${nic} (showvminfo --machinereadable)`,
        raw
          ? `${cfg}: ${adapter?.tag} — promiscuous mode ${policy}`
          : `${cfg}: ${adapter ? adapter.tag : `no <Adapter slot="${n - 1}">`} has no promiscuousModePolicy, VirtualBox's default: deny`,
        `NIC ${n} is how the host reaches ${node}; with promiscuous mode ${policy}, MetalLB L2 addresses announced from ${node} may never answer from the host`,
      ],
      fix: `${
        running
          ? `VBoxManage controlvm ${vm.name} nicpromisc${n} allow-all (on the running VM)`
          : `VBoxManage modifyvm ${vm.name} --nicpromisc${n} allow-all (VM powered off)`
      }; kubelab's Vagrantfile sets it on every node: vb.customize ["modifyvm", :id, "--nicpromisc${n}", "allow-all"]`,
    };
  });
}

function hostIoCache(node: string, vm: VirtualBoxVmEvidence): Finding[] {
  const info = parseMachineReadable(vm.showvminfo);
  if (vm.settings === null) return [unreadSettings(vm, info, "host I/O cache setting")];
  const { controllers } = parseVboxSettings(vm.settings);
  const cfg = info.get("CfgFile") ?? "the settings file";
  const index = (name: string) =>
    [...info.entries()].find(([k, v]) => /^storagecontrollername\d+$/.test(k) && v === name)?.[0];
  const disks = (name: string) =>
    [...info.entries()]
      .filter(
        ([k, v]) =>
          k.startsWith(`${name}-`) &&
          /-\d+-\d+$/.test(k) &&
          !/-(ImageUUID|nonrotational|discard|hot-pluggable|tempeject|IsEjected|dvdpassthrough)-/.test(k) &&
          v !== "none" &&
          v !== "emptydrive",
      )
      .map(([k, v]) => `"${k}"="${v}"`);
  const cached = controllers.filter((c) => c.attributes.useHostIOCache === "true" && c.hasDisk);
  if (cached.length > 0)
    return cached.map((c) => ({
      verdict: "warn" as const,
      subject: vm.name,
      evidence: [
        `${index(c.name) ?? "storage controller"}="${c.name}" with ${disks(c.name).join(", ") || "a hard disk"} (showvminfo --machinereadable)`,
        `${cfg}: ${c.tag}`,
        `the host I/O cache is on: every read and write of ${node}'s disk also fills the host's page cache, and host RAM disappears as the lab runs`,
      ],
      fix: `with the VM powered off (vagrant halt ${node}): VBoxManage storagectl ${vm.name} --name "${c.name}" --hostiocache off; kubelab's Vagrantfile sets it: vb.customize ["storagectl", :id, "--name", "${c.name}", "--hostiocache", "off"]`,
    }));
  if (controllers.length === 0)
    return [
      {
        verdict: "warn",
        subject: vm.name,
        evidence: [`${cfg} has no <StorageController>`],
        fix: "recreate the VM with kubelab up",
      },
    ];
  return [
    {
      verdict: "pass",
      subject: vm.name,
      evidence: controllers.map(
        (c) =>
          `${c.name} (${c.attributes.type ?? "?"}): host I/O cache ${c.attributes.useHostIOCache === "true" ? "on, but no disk attached" : "off"}`,
      ),
    },
  ];
}

export const virtualboxChecks: readonly Check[] = [
  {
    id: "virtualbox.promiscuous",
    title:
      "the host-only NIC of every node VM is in promiscuous mode allow-all (MetalLB L2 addresses answer from the host)",
    needs: ["virtualbox"],
    references: ["metallb/metallb#253", "metallb/metallb#535"],
    run(e, plan) {
      if (!onVirtualBox(plan) || !plan.addons.metallb.enabled) return [];
      return vms(e, plan).flatMap(([node, vm]) => promiscuous(node, vm));
    },
  },
  {
    id: "virtualbox.host-io-cache",
    title: "no node VM's disk goes through the host I/O cache (host RAM)",
    needs: ["virtualbox"],
    references: ["VBoxManage storagectl --hostiocache"],
    run(e, plan) {
      if (!onVirtualBox(plan)) return [];
      return vms(e, plan).flatMap(([node, vm]) => hostIoCache(node, vm));
    },
  },
];
