// The VirtualBox checks (promiscuous mode, host I/O cache) on evidence in VirtualBox's own formats, for the
// default lab (vagrant + virtualbox: lab-master-1, lab-worker-1, lab-worker-2).
//
// VBoxManage cannot be installed here, so the outputs below are not captured from a host: they
// are written line by line from the printf formats of VirtualBox's source (VirtualBox/virtualbox
// on GitHub, r109948 of 2025-06-24):
//  - src/VBox/Frontends/VBoxManage/VBoxManageInfo.cpp, showVMInfo(): the order and spelling of
//    every `--machinereadable` key (`storagecontrollername%u`, `"%ls-%d-%d"` for attachments,
//    `natnet%d`, `macaddress%d`, `cableconnected%d`, `nic%d`, `nictype%d`, `nicspeed%d`,
//    `hostonlyadapter%d`, `Forwarding(%d)`, `nic%u="none"` for disabled NICs, the
//    `VRDEClients==0` and ` rec_screen0` quirks); the compact form `"%ls" {%s}` of `list vms`.
//    It prints no promiscuous-mode key (only the human-readable `Promisc Policy: deny`) and no
//    host I/O cache at all;
//  - src/VBox/Main/xml/Settings.cpp, buildHardwareXML() and buildStorageControllersXML(): the
//    settings file's `<Adapter slot= enabled= MACAddress= promiscuousModePolicy= type=>` (the
//    policy left out for Deny, `AllowNetwork` / `AllowAll` otherwise), `<HostOnlyInterface name=>`,
//    `<StorageController name= type= PortCount= useHostIOCache= Bootable=>` (AHCI controllers
//    with the IDE*EmulationPort attributes), `<AttachedDevice type="HardDisk" ...>`.
// The VM is what Vagrant makes of bento/ubuntu-24.04 (Packer's VirtualBox builder gives the box
// an "IDE Controller", which VirtualBox creates with the host I/O cache on, and a "SATA
// Controller" holding the disk) with NIC 1 NAT (SSH forwarded from 127.0.0.1:2222) and NIC 2 on
// the host-only network vboxnet0 (the lab CIDR), running headless.

import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { planOf } from "../../../test/helpers/fixtures.js";
import { DEFAULT_CLUSTER_YAML } from "../../config/default-cluster.js";
import { formatResults, runChecks } from "../run.js";
import type { CheckResult, Evidence, VirtualBoxVmEvidence } from "../types.js";
import { collectVirtualBox, parseListVms, parseMachineReadable, parseVboxSettings } from "../virtualbox.js";
import { virtualboxChecks } from "./virtualbox.js";

const RAW = parse(DEFAULT_CLUSTER_YAML) as Record<string, unknown>;

const PLAN = planOf(RAW);
const VMS_DIR = "/home/dev/VirtualBox VMs";

interface Vm {
  readonly node: string;
  readonly uuid: string;
  readonly memory: number;
  readonly cpus: number;
  readonly mac1: string;
  readonly mac2: string;
  readonly disk: string;
  readonly sshPort: number;
}

const VMS: readonly Vm[] = [
  {
    node: "master-1",
    uuid: "3f0a6d7e-5c1b-4e8a-9b61-2d7c4a0e91f3",
    memory: 4096,
    cpus: 2,
    mac1: "0800279A4C21",
    mac2: "080027D1E5B7",
    disk: "6b1f0e42-8a3d-4c57-b2e9-0f4d7a61c385",
    sshPort: 2222,
  },
  {
    node: "worker-1",
    uuid: "a41c9b20-7e65-4d13-8f0a-b5e2c3d49a70",
    memory: 8192,
    cpus: 4,
    mac1: "08002714F3A8",
    mac2: "0800275C3E11",
    disk: "d2e7a9c4-13b0-4f6e-a8d5-7c91b4e0f226",
    sshPort: 2200,
  },
  {
    node: "worker-2",
    uuid: "e8b35f17-2c49-4a0d-b7e3-91f6d02c8b54",
    memory: 8192,
    cpus: 4,
    mac1: "080027B06D92",
    mac2: "0800278F2A4D",
    disk: "19c4e6b8-f02a-4d71-9e35-a6b8d0c2f417",
    sshPort: 2201,
  },
];

const nameOf = (vm: Vm) => `lab-${vm.node}`;
const cfgOf = (vm: Vm) => `${VMS_DIR}/${nameOf(vm)}/${nameOf(vm)}.vbox`;

/** `VBoxManage showvminfo <uuid> --machinereadable` of a running node VM (VirtualBox 7.1, Linux host). */
function showvminfo(vm: Vm): string {
  const name = nameOf(vm);
  const dir = `${VMS_DIR}/${name}`;
  return `name="${name}"
encryption="disabled"
groups="/"
platformArchitecture="x86"
ostype="Ubuntu (64-bit)"
UUID="${vm.uuid}"
CfgFile="${dir}/${name}.vbox"
SnapFldr="${dir}/Snapshots"
LogFldr="${dir}/Logs"
hardwareuuid="${vm.uuid}"
memory=${vm.memory}
pagefusion="off"
vram=16
cpuexecutioncap=100
cpu-profile="host"
chipset="piix3"
firmware="BIOS"
cpus=${vm.cpus}
hpet="off"
pae="on"
longmode="on"
triplefaultreset="off"
apic="on"
x2apic="on"
nested-hw-virt="off"
hwvirtex="on"
nestedpaging="on"
largepages="on"
vtxvpid="on"
vtxux="on"
virtvmsavevmload="on"
cpuid-portability-level=0
bootmenu="messageandmenu"
boot1="disk"
boot2="dvd"
boot3="none"
boot4="none"
acpi="on"
ioapic="on"
biosapic="apic"
biossystemtimeoffset=0
NvramFile="${dir}/${name}.nvram"
rtcuseutc="on"
iommu="none"
paravirtprovider="default"
effparavirtprovider="kvm"
VMState="running"
VMStateChangeTime="2025-01-14T09:12:41.518000000Z"
graphicscontroller="vmsvga"
monitorcount=1
accelerate3d="off"
teleporterenabled="off"
teleporterport=0
teleporteraddress=""
teleporterpassword=""
tracing-enabled="off"
tracing-allow-vm-access="off"
tracing-config=""
autostart-enabled="off"
autostart-delay=0
defaultfrontend=""
vmprocpriority="default"
storagecontrollername0="IDE Controller"
storagecontrollertype0="PIIX4"
storagecontrollerinstance0="0"
storagecontrollermaxportcount0="2"
storagecontrollerportcount0="2"
storagecontrollerbootable0="on"
storagecontrollername1="SATA Controller"
storagecontrollertype1="IntelAhci"
storagecontrollerinstance1="0"
storagecontrollermaxportcount1="30"
storagecontrollerportcount1="1"
storagecontrollerbootable1="on"
"IDE Controller-0-0"="none"
"IDE Controller-0-1"="none"
"IDE Controller-1-0"="none"
"IDE Controller-1-1"="none"
"SATA Controller-0-0"="${dir}/ubuntu-24.04-amd64-disk001.vmdk"
"SATA Controller-ImageUUID-0-0"="${vm.disk}"
"SATA Controller-hot-pluggable-0-0"="off"
"SATA Controller-nonrotational-0-0"="off"
"SATA Controller-discard-0-0"="off"
natnet1="nat"
macaddress1="${vm.mac1}"
cableconnected1="on"
nic1="nat"
nictype1="82540EM"
nicspeed1="0"
mtu="0"
sockSnd="64"
sockRcv="64"
tcpWndSnd="64"
tcpWndRcv="64"
Forwarding(0)="ssh,tcp,127.0.0.1,${vm.sshPort},,22"
hostonlyadapter2="vboxnet0"
macaddress2="${vm.mac2}"
cableconnected2="on"
nic2="hostonly"
nictype2="82540EM"
nicspeed2="0"
nic3="none"
nic4="none"
nic5="none"
nic6="none"
nic7="none"
nic8="none"
hidpointing="ps2mouse"
hidkeyboard="ps2kbd"
uart1="off"
uart2="off"
uart3="off"
uart4="off"
lpt1="off"
lpt2="off"
audio="none"
audio_out="off"
audio_in="off"
clipboard="disabled"
draganddrop="disabled"
SessionName="headless"
VideoMode="720,400,0"@0,0 1
vrde="off"
usb="off"
ehci="off"
xhci="off"
VRDEActiveConnection="off"
VRDEClients==0
recording_started="off"
recording_enabled="off"
recording_screens=1
 rec_screen0
rec_screen_enabled="on"
rec_screen_id=0
rec_screen_video_enabled="on"
rec_screen_audio_enabled="off"
rec_screen_dest="File"
rec_screen_dest_filename="${dir}/${name}-screen0.webm"
rec_screen_opts="vc_enabled=true,ac_enabled=false,ac_profile=med"
rec_screen_video_res_xy="1024x768"
rec_screen_video_rate_kbps=512
rec_screen_video_fps=25
GuestMemoryBalloon=0
GuestOSType="Ubuntu_64"
GuestAdditionsRunLevel=2
GuestAdditionsVersion="7.0.20 r163906"
GuestAdditionsFacility_VirtualBox Base Driver=50,1736845973123
GuestAdditionsFacility_VirtualBox System Service=50,1736845975456
GuestAdditionsFacility_Seamless Mode=0,1736845973120
GuestAdditionsFacility_Graphics Mode=0,1736845973118
`;
}

interface SettingsVariant {
  /** promiscuousModePolicy of NIC 2 (slot 1); absent: VirtualBox's default, Deny, which is not written. */
  readonly promisc?: "AllowNetwork" | "AllowAll";
  /** useHostIOCache of the SATA controller (the one with the disk). */
  readonly sataCache?: boolean;
}

/** The VM's settings file (the `.vbox` at CfgFile), elements doctor does not read left out. */
function vboxSettings(vm: Vm, v: SettingsVariant): string {
  const policy = v.promisc ? ` promiscuousModePolicy="${v.promisc}"` : "";
  return `<?xml version="1.0"?>
<!--
** DO NOT EDIT THIS FILE.
** If you make changes to this file while any VirtualBox related application
** is running, your changes will be overwritten later, without taking effect.
** Use VBoxManage or the VirtualBox Manager GUI to make changes.
-->
<VirtualBox xmlns="http://www.virtualbox.org/" version="1.20-linux">
  <Machine uuid="{${vm.uuid}}" name="${nameOf(vm)}" OSType="Ubuntu_64" snapshotFolder="Snapshots" lastStateChange="2025-01-14T09:12:41Z">
    <MediaRegistry>
      <HardDisks>
        <HardDisk uuid="{${vm.disk}}" location="ubuntu-24.04-amd64-disk001.vmdk" format="VMDK" type="Normal"/>
      </HardDisks>
    </MediaRegistry>
    <Hardware>
      <Memory RAMSize="${vm.memory}"/>
      <!-- CPU, platform, firmware, display and the rest: not read by doctor, left out here -->
      <Network>
        <Adapter slot="0" enabled="true" MACAddress="${vm.mac1}" type="82540EM">
          <NAT localhost-reachable="true">
            <Forwarding name="ssh" proto="1" hostip="127.0.0.1" hostport="${vm.sshPort}" guestport="22"/>
          </NAT>
        </Adapter>
        <Adapter slot="1" enabled="true" MACAddress="${vm.mac2}"${policy} type="82540EM">
          <HostOnlyInterface name="vboxnet0"/>
        </Adapter>
      </Network>
    </Hardware>
    <StorageControllers>
      <StorageController name="IDE Controller" type="PIIX4" PortCount="2" useHostIOCache="true" Bootable="true"/>
      <StorageController name="SATA Controller" type="AHCI" PortCount="1" useHostIOCache="${v.sataCache ? "true" : "false"}" Bootable="true" IDE0MasterEmulationPort="0" IDE0SlaveEmulationPort="1" IDE1MasterEmulationPort="2" IDE1SlaveEmulationPort="3">
        <AttachedDevice type="HardDisk" hotpluggable="false" port="0" device="0">
          <Image uuid="{${vm.disk}}"/>
        </AttachedDevice>
      </StorageController>
    </StorageControllers>
  </Machine>
</VirtualBox>
`;
}

/** `VBoxManage list vms` on a host with this lab, other labs and a VM whose folder is gone. */
const LIST_VMS = `"kubelab_default_1736840311829_50712" {0c7e2b91-4a5d-4f38-9e06-d3b1a8f47c25}
"lab-master-1" {${VMS[0]?.uuid}}
"lab-worker-1" {${VMS[1]?.uuid}}
"lab-worker-10" {7d42e0b5-96c1-4f8a-a3d7-2e5b0c8f9146}
"lab2-master-1" {b9e15c3a-0d7f-4a62-8e41-c6f2a9d03b78}
"staging-worker-2" {51a8d6f0-3b2e-4c97-a0f5-8d1e7b4c6a29}
"lab-worker-2" {${VMS[2]?.uuid}}
"<inaccessible>" {f3c0a7d1-8e4b-4265-b9a0-17d5e2c8f630}
`;

function evidenceOf(variants: Record<string, SettingsVariant>, file: unknown = RAW): Evidence {
  const virtualbox: Record<string, VirtualBoxVmEvidence> = {};
  for (const vm of VMS)
    virtualbox[vm.node] = {
      name: nameOf(vm),
      uuid: vm.uuid,
      showvminfo: showvminfo(vm),
      settings: vboxSettings(vm, variants[vm.node] ?? {}),
    };
  return {
    format: "kubelab.dev/doctor-evidence/v1",
    collectedAt: "2025-01-14T09:30:00.000Z",
    file,
    virtualbox,
    unavailable: {},
  };
}

const GOOD: SettingsVariant = { promisc: "AllowAll", sataCache: false };
const ALL_GOOD = { "master-1": GOOD, "worker-1": GOOD, "worker-2": GOOD };

const byId = (results: readonly CheckResult[], id: string) => {
  const r = results.find((x) => x.id === id);
  assert.ok(r, `no result for ${id}`);
  return r;
};

test("the machine-readable output and the settings file parse as VirtualBox writes them", () => {
  const info = parseMachineReadable(showvminfo(VMS[1] as Vm));
  assert.equal(info.get("name"), "lab-worker-1");
  assert.equal(info.get("CfgFile"), "/home/dev/VirtualBox VMs/lab-worker-1/lab-worker-1.vbox");
  assert.equal(info.get("memory"), "8192");
  assert.equal(info.get("nic2"), "hostonly");
  assert.equal(info.get("hostonlyadapter2"), "vboxnet0");
  assert.equal(
    info.get("SATA Controller-0-0"),
    "/home/dev/VirtualBox VMs/lab-worker-1/ubuntu-24.04-amd64-disk001.vmdk",
  );
  assert.equal(info.get("VRDEClients"), "=0");
  assert.equal(info.get("GuestAdditionsFacility_VirtualBox Base Driver"), "50,1736845973123");
  assert.equal(info.has(" rec_screen0"), false);
  // No promiscuous-mode key and no host I/O cache key: VBoxManageInfo.cpp prints none.
  assert.deepEqual(
    [...info.keys()].filter((k) => /promisc|iocache/i.test(k)),
    [],
  );
  // Escapes: `\"` and `\\` inside values, quoted names.
  const esc = parseMachineReadable('description="a \\"quoted\\" C:\\\\path"\n"x=y"="1"\n');
  assert.equal(esc.get("description"), 'a "quoted" C:\\path');
  assert.equal(esc.get("x=y"), "1");

  const s = parseVboxSettings(vboxSettings(VMS[1] as Vm, { promisc: "AllowNetwork", sataCache: true }));
  assert.deepEqual(
    s.adapters.map((a) => [a.slot, a.attributes.promiscuousModePolicy]),
    [
      [0, undefined],
      [1, "AllowNetwork"],
    ],
  );
  assert.deepEqual(
    s.controllers.map((c) => [c.name, c.attributes.type, c.attributes.useHostIOCache, c.hasDisk]),
    [
      ["IDE Controller", "PIIX4", "true", false],
      ["SATA Controller", "AHCI", "true", true],
    ],
  );
  // A snapshot keeps its own hardware; only the machine's current state counts.
  const withSnapshot = vboxSettings(VMS[1] as Vm, GOOD).replace(
    "<Hardware>",
    `<Snapshot uuid="{0b8c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d}" name="before" timeStamp="2025-01-13T10:00:00Z">
      <Hardware><Network><Adapter slot="1" enabled="true" MACAddress="${VMS[1]?.mac2}" type="82540EM"><HostOnlyInterface name="vboxnet0"/></Adapter></Network></Hardware>
      <StorageControllers><StorageController name="SATA Controller" type="AHCI" PortCount="1" useHostIOCache="true" Bootable="true"/></StorageControllers>
    </Snapshot>
    <Hardware>`,
  );
  const current = parseVboxSettings(withSnapshot);
  assert.equal(current.adapters.find((a) => a.slot === 1)?.attributes.promiscuousModePolicy, "AllowAll");
  assert.equal(current.controllers.filter((c) => c.name === "SATA Controller").length, 1);
});

test("collectVirtualBox reads the cluster's VMs only, replaying VBoxManage and the settings files", async () => {
  const calls: string[][] = [];
  const run = async (args: string[]) => {
    calls.push(args);
    if (args.join(" ") === "list vms") return { code: 0, stdout: LIST_VMS, stderr: "" };
    const vm = VMS.find((v) => args[0] === "showvminfo" && args[1] === v.uuid && args[2] === "--machinereadable");
    if (vm) return { code: 0, stdout: showvminfo(vm), stderr: "" };
    return { code: 1, stdout: "", stderr: `VBoxManage: error: unexpected call ${args.join(" ")}` };
  };
  const reads: string[] = [];
  const read = async (path: string) => {
    reads.push(path);
    const vm = VMS.find((v) => cfgOf(v) === path);
    if (!vm) throw new Error(`ENOENT: ${path}`);
    return vboxSettings(vm, GOOD);
  };
  const got = await collectVirtualBox(PLAN, run, read);
  assert.ok(got);
  assert.deepEqual(Object.keys(got), ["master-1", "worker-1", "worker-2"]);
  assert.deepEqual(
    Object.values(got).map((v) => [v.name, v.uuid]),
    VMS.map((v) => [nameOf(v), v.uuid]),
  );
  assert.equal(got["worker-2"]?.showvminfo, showvminfo(VMS[2] as Vm));
  assert.equal(got["worker-2"]?.settings, vboxSettings(VMS[2] as Vm, GOOD));
  // lab-worker-10, lab2-master-1, staging-worker-2, Vagrant's default name and the inaccessible VM: never read.
  assert.deepEqual(
    calls
      .slice(1)
      .map((c) => c[1])
      .sort(),
    VMS.map((v) => v.uuid).sort(),
  );
  assert.deepEqual(reads.sort(), VMS.map(cfgOf).sort());

  assert.deepEqual(parseListVms(LIST_VMS).length, 8);

  // A settings file that cannot be read is recorded as null; a VM whose showvminfo fails is left out.
  const partial = await collectVirtualBox(
    PLAN,
    async (args) =>
      args[0] === "showvminfo" && args[1] === VMS[0]?.uuid
        ? { code: 1, stdout: "", stderr: "VBoxManage: error: Could not find a registered machine" }
        : run(args),
    async (path) => {
      if (path === cfgOf(VMS[1] as Vm)) throw new Error("EACCES");
      return read(path);
    },
  );
  assert.deepEqual(Object.keys(partial ?? {}), ["worker-1", "worker-2"]);
  assert.equal(partial?.["worker-1"]?.settings, null);

  // No VM of this cluster: an error that names the VMs looked for.
  await assert.rejects(
    collectVirtualBox(PLAN, async () => ({
      code: 0,
      stdout: '"lab2-master-1" {b9e15c3a-0d7f-4a62-8e41-c6f2a9d03b78}\n',
      stderr: "",
    })),
    /no VirtualBox VM named lab\.master-1, lab\.worker-1, lab\.worker-2 \(kubelab up creates them; VBoxManage list vms has 1 other VM\)/,
  );

  // The VMs above carry the names of earlier versions (lab-master-1): found all the same. A VM
  // under today's name (lab.master-1) is preferred over one under the old name.
  const renamed = await collectVirtualBox(
    PLAN,
    async (args) =>
      args[0] === "list" ? { code: 0, stdout: `${LIST_VMS}"lab.master-1" {${VMS[1]?.uuid}}\n`, stderr: "" } : run(args),
    read,
  );
  assert.equal(renamed?.["master-1"]?.name, "lab.master-1");
  assert.equal(renamed?.["master-1"]?.uuid, VMS[1]?.uuid);
  assert.equal(renamed?.["worker-1"]?.name, "lab-worker-1");

  // Not VirtualBox: nothing to read, VBoxManage never run.
  const libvirt = structuredClone(RAW);
  (libvirt.provider as Record<string, unknown>).hypervisor = "libvirt";
  let ran = false;
  assert.equal(
    await collectVirtualBox(planOf(libvirt), async () => {
      ran = true;
      return { code: 0, stdout: "", stderr: "" };
    }),
    undefined,
  );
  assert.equal(ran, false);
});

test("both checks pass on node VMs as kubelab's Vagrantfile sets them up", () => {
  const results = runChecks(evidenceOf(ALL_GOOD), virtualboxChecks);
  assert.deepEqual(
    results.map((r) => [r.id, r.verdict]),
    [
      ["virtualbox.promiscuous", "pass"],
      ["virtualbox.host-io-cache", "pass"],
    ],
  );
  const promisc = byId(results, "virtualbox.promiscuous");
  assert.deepEqual(
    promisc.findings.map((f) => [f.subject, f.evidence[0]]),
    VMS.map((v) => [nameOf(v), 'nic2="hostonly" hostonlyadapter2="vboxnet0", promiscuous mode allow-all']),
  );
  assert.deepEqual(byId(results, "virtualbox.host-io-cache").findings[0]?.evidence, [
    "IDE Controller (PIIX4): host I/O cache on, but no disk attached",
    "SATA Controller (AHCI): host I/O cache off",
  ]);
});

test("virtualbox.promiscuous fails for a host-only NIC left at deny (the default) or allow-vms", () => {
  const results = runChecks(
    evidenceOf({ ...ALL_GOOD, "worker-1": { promisc: "AllowNetwork" }, "worker-2": {} }),
    virtualboxChecks,
  );
  const r = byId(results, "virtualbox.promiscuous");
  assert.equal(r.verdict, "fail");
  assert.deepEqual(
    r.findings.map((f) => [f.subject, f.verdict]),
    [
      ["lab-master-1", "pass"],
      ["lab-worker-1", "fail"],
      ["lab-worker-2", "fail"],
    ],
  );
  const [, w1, w2] = r.findings;
  assert.deepEqual(w2?.evidence, [
    'nic2="hostonly" hostonlyadapter2="vboxnet0" (showvminfo --machinereadable)',
    `/home/dev/VirtualBox VMs/lab-worker-2/lab-worker-2.vbox: <Adapter slot="1" enabled="true" MACAddress="0800278F2A4D" type="82540EM"> has no promiscuousModePolicy, VirtualBox's default: deny`,
    "NIC 2 is how the host reaches worker-2; with promiscuous mode deny, MetalLB L2 addresses announced from worker-2 may never answer from the host",
  ]);
  assert.match(
    w1?.evidence[1] ?? "",
    /promiscuousModePolicy="AllowNetwork" type="82540EM"> — promiscuous mode allow-vms$/,
  );
  assert.equal(
    w2?.fix,
    'VBoxManage controlvm lab-worker-2 nicpromisc2 allow-all (on the running VM); kubelab\'s Vagrantfile sets it on every node: vb.customize ["modifyvm", :id, "--nicpromisc2", "allow-all"]',
  );
  const text = formatResults(results);
  assert.match(text, /✗ virtualbox\.promiscuous {2}/);
  assert.match(text, /fix: VBoxManage controlvm lab-worker-1 nicpromisc2 allow-all/);
  assert.match(text, /see: .*\/docs\/known-failures\.md#virtualbox\.promiscuous$/m);

  // A powered-off VM gets the modifyvm form.
  const off = evidenceOf({ ...ALL_GOOD, "worker-2": {} });
  const vb = off.virtualbox as Record<string, VirtualBoxVmEvidence>;
  const w2vm = vb["worker-2"] as VirtualBoxVmEvidence;
  vb["worker-2"] = { ...w2vm, showvminfo: w2vm.showvminfo.replace('VMState="running"', 'VMState="poweroff"') };
  assert.match(
    byId(runChecks(off, virtualboxChecks), "virtualbox.promiscuous").findings[2]?.fix ?? "",
    /^VBoxManage modifyvm lab-worker-2 --nicpromisc2 allow-all \(VM powered off\)/,
  );
});

test("virtualbox.host-io-cache warns for a controller with a disk and the host I/O cache on", () => {
  const results = runChecks(
    evidenceOf({ ...ALL_GOOD, "master-1": { promisc: "AllowAll", sataCache: true } }),
    virtualboxChecks,
  );
  assert.equal(byId(results, "virtualbox.promiscuous").verdict, "pass");
  const r = byId(results, "virtualbox.host-io-cache");
  assert.equal(r.verdict, "warn");
  const warned = r.findings.filter((f) => f.verdict === "warn");
  assert.equal(warned.length, 1, "the IDE controller (cache on, no disk) is not warned about");
  assert.deepEqual(warned[0]?.evidence, [
    'storagecontrollername1="SATA Controller" with "SATA Controller-0-0"="/home/dev/VirtualBox VMs/lab-master-1/ubuntu-24.04-amd64-disk001.vmdk" (showvminfo --machinereadable)',
    '/home/dev/VirtualBox VMs/lab-master-1/lab-master-1.vbox: <StorageController name="SATA Controller" type="AHCI" PortCount="1" useHostIOCache="true" Bootable="true" IDE0MasterEmulationPort="0" IDE0SlaveEmulationPort="1" IDE1MasterEmulationPort="2" IDE1SlaveEmulationPort="3">',
    "the host I/O cache is on: every read and write of master-1's disk also fills the host's page cache, and host RAM disappears as the lab runs",
  ]);
  assert.equal(
    warned[0]?.fix,
    'with the VM powered off (vagrant halt master-1): VBoxManage storagectl lab-master-1 --name "SATA Controller" --hostiocache off; kubelab\'s Vagrantfile sets it: vb.customize ["storagectl", :id, "--name", "SATA Controller", "--hostiocache", "off"]',
  );
  assert.match(formatResults(results), /! virtualbox\.host-io-cache {2}/);
});

test("the VirtualBox checks are skipped, saying why, without VM evidence or when they do not apply", () => {
  const none: Evidence = {
    format: "kubelab.dev/doctor-evidence/v1",
    collectedAt: "2025-01-14T09:30:00.000Z",
    file: RAW,
    unavailable: { virtualbox: "VBoxManage is not on PATH (it comes with VirtualBox), so the node VMs cannot be read" },
  };
  for (const r of runChecks(none, virtualboxChecks)) {
    assert.equal(r.verdict, "skip");
    assert.equal(
      r.skipped,
      "virtualbox: VBoxManage is not on PATH (it comes with VirtualBox), so the node VMs cannot be read",
    );
  }
  // Without MetalLB, promiscuous mode does not matter to the lab; the I/O cache still does.
  const noLb = structuredClone(RAW);
  (noLb.addons as Record<string, Record<string, unknown>>).metallb = { enabled: false };
  const results = runChecks(evidenceOf({ ...ALL_GOOD, "worker-1": {} }, noLb), virtualboxChecks);
  assert.deepEqual(
    results.map((r) => [r.id, r.verdict, r.skipped]),
    [
      ["virtualbox.promiscuous", "skip", "does not apply to this cluster"],
      ["virtualbox.host-io-cache", "pass", undefined],
    ],
  );
  // A settings file that could not be read: the check says it cannot tell.
  const unread = evidenceOf(ALL_GOOD);
  const vb = unread.virtualbox as Record<string, VirtualBoxVmEvidence>;
  vb["worker-1"] = { ...(vb["worker-1"] as VirtualBoxVmEvidence), settings: null };
  const r = byId(runChecks(unread, virtualboxChecks), "virtualbox.promiscuous");
  assert.equal(r.verdict, "warn");
  assert.match(
    r.findings[1]?.evidence[0] ?? "",
    /lab-worker-1\.vbox could not be read, and showvminfo --machinereadable has no promiscuous-mode policy/,
  );
});
