/**
 * Host checks before the vagrant provider creates anything: Vagrant itself, the hypervisor
 * (VirtualBox, or libvirt with the vagrant-libvirt plugin), hardware virtualisation,
 * VirtualBox's allowed host-only ranges, host networks that clash with the lab network, and
 * free memory for the VMs.
 *
 * Facts first, then verdicts: `gatherVagrantHostFacts` reads the host into one plain JSON
 * document (every read tolerant of absence), and `evaluateVagrantHost` judges only that
 * document, so tests feed it facts for every outcome.
 */
import { execFile } from "node:child_process";
import { constants, existsSync } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { UserError } from "../../errors.js";
import { contains, formatIpv4, type Ipv4Range, overlaps, parseIpv4 } from "../../net/ipv4.js";
import type { Plan, PlanProvider } from "../../plan/types.js";
import { PINNED } from "../../versions.js";
import { hostEnv, which } from "../host.js";
import type { HostProblem, ProviderContext } from "../types.js";

/** A command's outcome on this host. */
export interface CommandFact {
  readonly ok: boolean;
  /** stdout when it succeeded; otherwise the last lines of stderr (or stdout, or why it did not run). */
  readonly output: string;
}

/** Everything the checks read, as gathered on this host. null: absent, or not readable. */
export interface VagrantHostFacts {
  /** process.platform and process.arch. */
  readonly platform: string;
  readonly arch: string;
  /** `vagrant --version`; null when vagrant is not on PATH. */
  readonly vagrantVersion: CommandFact | null;
  /** `vagrant plugin list`; null when vagrant is missing or the plan is not on libvirt (it starts Ruby: ~1 s). */
  readonly vagrantPlugins: CommandFact | null;
  /** `VBoxManage --version`; null when VBoxManage is not on PATH. */
  readonly vboxManageVersion: CommandFact | null;
  /** Whether /dev/vboxdrv exists (VirtualBox's kernel module is loaded). */
  readonly vboxdrv: boolean;
  /** /etc/vbox/networks.conf; null when the file does not exist. */
  readonly vboxNetworksConf: string | null;
  /** `virsh -c qemu:///system uri`: whether libvirtd answers; null when virsh is not on PATH. */
  readonly virshConnect: CommandFact | null;
  /** The libvirt sockets that exist, of LIBVIRT_SOCKETS. */
  readonly libvirtSockets: readonly string[];
  readonly kvm: { readonly exists: boolean; readonly readWrite: boolean };
  /** The first `flags` line of /proc/cpuinfo (x86); null when there is none. */
  readonly cpuFlags: string | null;
  /** `ip -j -4 route show` and `ip -j -4 addr show`; null when ip is missing or failed. */
  readonly ipRoutes: string | null;
  readonly ipAddrs: string | null;
  /** /proc/meminfo; null when unreadable. */
  readonly meminfo: string | null;
}

export type { HostProblem };

/** One check's outcome: a line saying what passed, its problems, or why it could not tell. */
export type HostCheckOutcome =
  | { readonly pass: string }
  | { readonly problems: readonly HostProblem[] }
  | { readonly skip: string };

type VagrantPlanProvider = Extract<PlanProvider, { name: "vagrant" }>;
type Check = (plan: Plan, p: VagrantPlanProvider, facts: VagrantHostFacts) => HostCheckOutcome | undefined;

const LIBVIRT_URI = "qemu:///system";
/** libvirtd's socket, or with the modular daemons virtqemud's. */
export const LIBVIRT_SOCKETS = ["/var/run/libvirt/libvirt-sock", "/var/run/libvirt/virtqemud-sock"] as const;
const VBOX_NETWORKS_CONF = "/etc/vbox/networks.conf";
/** VirtualBox's host-only range when networks.conf does not exist (VirtualBox manual, "Host-Only Networking"). */
export const VBOX_DEFAULT_HOSTONLY = "192.168.56.0/21";
/** The versions Vagrant's own check uses (plugins/providers/virtualbox/action/network.rb, validate_hostonly_ip!). */
const HOSTONLY_RESTRICTED_SINCE = "6.1.28";
const DARWIN_UNRESTRICTED_SINCE = "7.0.0";
/** Memory kept for the host itself, on top of the VMs'. */
export const HOST_RESERVE_MIB = 1024;

const problems = (...list: HostProblem[]): HostCheckOutcome => ({ problems: list });

/** compareDottedVersions compares dotted numeric versions ("2.3.4" vs "2.3.0"): negative, zero or positive. */
export function compareDottedVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** parseVagrantVersion reads `vagrant --version` ("Vagrant 2.3.4"), skipping any warnings before it. */
export function parseVagrantVersion(output: string): string | undefined {
  return /^Vagrant (\d+\.\d+\.\d+)/m.exec(output)?.[1];
}

/** parseVBoxVersion reads `VBoxManage --version` ("7.0.20r163906", "6.1.50_Ubuntur161033"), after any warnings. */
export function parseVBoxVersion(output: string): string | undefined {
  return /^(\d+\.\d+\.\d+)/m.exec(output)?.[1];
}

/** hasPlugin is true when `vagrant plugin list` lists the plugin ("vagrant-libvirt (0.11.2, system)"). */
export function hasPlugin(list: string, name: string): boolean {
  return list.split("\n").some((line) => line.trim().split(/\s/)[0] === name);
}

/** memAvailableMiB reads MemAvailable from /proc/meminfo, in MiB. */
export function memAvailableMiB(meminfo: string): number | undefined {
  const kib = /^MemAvailable:\s+(\d+) kB/m.exec(meminfo)?.[1];
  return kib === undefined ? undefined : Math.floor(Number(kib) / 1024);
}

/** An IPv4 network, with its text (`a.b.c.d/n`). */
export interface Network extends Ipv4Range {
  readonly prefix: number;
  readonly text: string;
}

/** networkOf reads `a.b.c.d/n` (host bits allowed, as Vagrant's IPAddr does) or a bare address (/32) as its network. */
export function networkOf(text: string): Network | undefined {
  const [addr = "", len, ...rest] = text.split("/");
  const ip = parseIpv4(addr);
  const prefix = len === undefined ? 32 : /^\d{1,2}$/.test(len) ? Number(len) : Number.NaN;
  if (ip === undefined || rest.length > 0 || !(prefix >= 0 && prefix <= 32)) return undefined;
  const size = 2 ** (32 - prefix);
  const first = Math.floor(ip / size) * size;
  return { first, last: first + size - 1, prefix, text: `${formatIpv4(first)}/${prefix}` };
}

/** What /etc/vbox/networks.conf allows. */
export interface VBoxNetworks {
  /** Allowed IPv4 networks, in file order. */
  readonly ipv4: readonly Network[];
  readonly ipv6: readonly string[];
  /** Entries that are neither. */
  readonly invalid: readonly string[];
  /** Whether these are VirtualBox's default (no file). */
  readonly isDefault: boolean;
}

/**
 * parseVBoxNetworksConf reads networks.conf as Vagrant does: only lines starting with `*`
 * count, each listing networks separated by blanks (`* 10.0.0.0/8 192.168.0.0/16`,
 * `* 2001::/64`); anything from `#` on is a comment. No file: the default 192.168.56.0/21.
 * A file, even an empty one, replaces the default.
 */
export function parseVBoxNetworksConf(text: string | null): VBoxNetworks {
  if (text === null) {
    const ipv4 = [networkOf(VBOX_DEFAULT_HOSTONLY)].filter((n) => n !== undefined);
    return { ipv4, ipv6: [], invalid: [], isDefault: true };
  }
  const ipv4: Network[] = [];
  const ipv6: string[] = [];
  const invalid: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line.startsWith("*")) continue;
    for (const entry of line.slice(1).trim().split(/\s+/).filter(Boolean)) {
      const net = networkOf(entry);
      if (net) ipv4.push(net);
      else if (entry.includes(":")) ipv6.push(entry);
      else invalid.push(entry);
    }
  }
  return { ipv4, ipv6, invalid, isDefault: false };
}

/** A network this host has: a route's destination or an address's network, on a device. */
export interface HostNetwork {
  readonly dev: string;
  readonly network: Network;
  readonly from: "route" | "address";
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

function jsonArray(text: string | null): Record<string, unknown>[] | undefined {
  if (text === null) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter(isRecord) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * hostNetworks lists the IPv4 networks this host reaches directly or by route, from `ip -j`
 * output: unicast routes with a device (default routes left out) and each address's network.
 * undefined when neither output could be read.
 */
export function hostNetworks(ipRoutes: string | null, ipAddrs: string | null): HostNetwork[] | undefined {
  const routes = jsonArray(ipRoutes);
  const links = jsonArray(ipAddrs);
  if (routes === undefined && links === undefined) return undefined;
  const found: HostNetwork[] = [];
  for (const r of routes ?? []) {
    if (typeof r.dst !== "string" || typeof r.dev !== "string") continue;
    if (r.type !== undefined && r.type !== "unicast") continue;
    const network = r.dst === "default" ? undefined : networkOf(r.dst);
    if (network && network.prefix > 0) found.push({ dev: r.dev, network, from: "route" });
  }
  for (const link of links ?? []) {
    if (typeof link.ifname !== "string" || !Array.isArray(link.addr_info)) continue;
    for (const a of link.addr_info.filter(isRecord)) {
      if (a.family !== "inet" || typeof a.local !== "string" || typeof a.prefixlen !== "number") continue;
      const network = networkOf(`${a.local}/${a.prefixlen}`);
      if (network) found.push({ dev: link.ifname, network, from: "address" });
    }
  }
  return found;
}

/**
 * The interfaces the hypervisor makes for its own networks, which may already carry the lab
 * network: VirtualBox's host-only vboxnetN, libvirt's bridges virbrN (vagrant-libvirt's
 * networks are libvirt networks, bridged on virbrN).
 */
export function hypervisorInterface(hypervisor: VagrantPlanProvider["hypervisor"]): { name: string; pattern: RegExp } {
  return hypervisor === "virtualbox"
    ? { name: "vboxnetN", pattern: /^vboxnet\d+$/ }
    : { name: "virbrN", pattern: /^virbr\d+$/ };
}

const INSTALL_VAGRANT = `install Vagrant ${PINNED.vagrant.minimum} or newer, from the distribution (Debian: sudo apt-get install vagrant) or from HashiCorp (https://developer.hashicorp.com/vagrant/install)`;

const checkVagrant: Check = (_plan, _p, f) => {
  if (f.vagrantVersion === null)
    return problems({ id: "vagrant.missing", message: "vagrant is not installed (not on PATH)", fix: INSTALL_VAGRANT });
  const version = parseVagrantVersion(f.vagrantVersion.output);
  if (!f.vagrantVersion.ok || version === undefined)
    return problems({
      id: "vagrant.broken",
      message: `\`vagrant --version\` did not print a version: ${lastLine(f.vagrantVersion.output)}`,
      fix: `repair the installation (run \`vagrant --version\` to see the error), or ${INSTALL_VAGRANT}`,
    });
  if (compareDottedVersions(version, PINNED.vagrant.minimum) < 0)
    return problems({
      id: "vagrant.version",
      message: `vagrant ${version} is older than ${PINNED.vagrant.minimum}, the oldest kubelab drives`,
      fix: `upgrade: ${INSTALL_VAGRANT}`,
    });
  return { pass: `vagrant ${version} (at least ${PINNED.vagrant.minimum})` };
};

const checkVirtualBox: Check = (_plan, p, f) => {
  if (p.hypervisor !== "virtualbox") return undefined;
  if (f.vboxManageVersion === null)
    return problems({
      id: "virtualbox.missing",
      message: "VirtualBox is not installed (VBoxManage is not on PATH)",
      fix: "install VirtualBox 7.x from https://www.virtualbox.org/wiki/Downloads, one your Vagrant supports (Vagrant 2.3 drives up to 7.0, 7.1 needs Vagrant 2.4.2); or set provider.hypervisor: libvirt",
    });
  if (!f.vboxManageVersion.ok)
    return problems({
      id: "virtualbox.broken",
      message: `\`VBoxManage --version\` failed: ${lastLine(f.vboxManageVersion.output)}`,
      fix: "repair or reinstall VirtualBox 7.x (https://www.virtualbox.org/wiki/Downloads); run `VBoxManage --version` to see the error",
    });
  const version = parseVBoxVersion(f.vboxManageVersion.output) ?? "(version unknown)";
  if (f.platform === "linux" && !f.vboxdrv)
    return problems({
      id: "virtualbox.vboxdrv",
      message: `VirtualBox ${version} is installed but its kernel module is not loaded (no /dev/vboxdrv)`,
      fix: "build and load it: sudo /sbin/vboxconfig (needs the headers of the running kernel; with Secure Boot the module must be signed)",
    });
  return { pass: `VirtualBox ${version}${f.platform === "linux" ? ", vboxdrv loaded" : ""}` };
};

const checkLibvirtPlugin: Check = (_plan, p, f) => {
  if (p.hypervisor !== "libvirt" || f.vagrantVersion === null) return undefined;
  const fix =
    "install it: sudo apt-get install vagrant-libvirt (Debian's package), or vagrant plugin install vagrant-libvirt";
  if (f.vagrantPlugins === null || !f.vagrantPlugins.ok)
    return problems({
      id: "libvirt.plugin",
      message: `could not list Vagrant's plugins: ${lastLine(f.vagrantPlugins?.output ?? "not run")}`,
      fix: `run \`vagrant plugin list\` to see why it fails; once it works it must list vagrant-libvirt (to ${fix})`,
    });
  if (!hasPlugin(f.vagrantPlugins.output, "vagrant-libvirt"))
    return problems({ id: "libvirt.plugin", message: "the vagrant-libvirt plugin is not installed", fix });
  return { pass: "vagrant-libvirt plugin installed" };
};

const checkLibvirtDaemon: Check = (_plan, p, f) => {
  if (p.hypervisor !== "libvirt") return undefined;
  if (f.virshConnect?.ok) return { pass: `libvirtd answers on ${LIBVIRT_URI}` };
  if (f.libvirtSockets.length === 0)
    return problems({
      id: "libvirt.daemon",
      message: `libvirtd is not running (none of ${LIBVIRT_SOCKETS.join(", ")} exists)`,
      fix: "install and start it: sudo apt-get install libvirt-daemon-system; sudo systemctl enable --now libvirtd",
    });
  if (f.virshConnect === null)
    return { skip: `libvirt socket ${f.libvirtSockets[0]} exists; virsh is not installed to try it` };
  return problems({
    id: "libvirt.daemon",
    message: `cannot connect to libvirtd on ${LIBVIRT_URI}: ${lastLine(f.virshConnect.output)}`,
    fix: "let your user manage libvirt: sudo usermod -aG libvirt $USER, then log in again (check with: virsh -c qemu:///system uri)",
  });
};

const checkVirtualisation: Check = (_plan, p, f) => {
  const firmware = "enable VT-x/AMD-V (SVM) in the firmware setup";
  if (p.hypervisor === "libvirt") {
    if (p.libvirtDriver !== "kvm") return undefined;
    if (f.kvm.exists && f.kvm.readWrite) return { pass: "/dev/kvm is usable" };
    return problems({
      id: "cpu.kvm",
      message: f.kvm.exists
        ? "/dev/kvm exists but this user cannot read and write it"
        : "/dev/kvm does not exist: KVM is not available",
      fix: f.kvm.exists
        ? "add your user to group kvm (sudo usermod -aG kvm $USER, then log in again), or set provider.libvirtDriver: qemu (software emulation, slow)"
        : `${firmware}, load the module (sudo modprobe kvm_intel, or kvm_amd), or set provider.libvirtDriver: qemu (software emulation, slow)`,
    });
  }
  if (f.arch !== "x64" && f.arch !== "ia32") return { skip: `no VT-x/AMD-V check on ${f.arch}` };
  if (f.cpuFlags === null) return { skip: "no CPU flags to read (/proc/cpuinfo)" };
  const flags = f.cpuFlags.split(/\s+/);
  const found = ["vmx", "svm"].find((x) => flags.includes(x));
  if (found) return { pass: `the CPU offers hardware virtualisation (${found})` };
  return problems({
    id: "cpu.virtualisation",
    message:
      "the CPU shows no hardware virtualisation (neither vmx nor svm in /proc/cpuinfo): VirtualBox cannot start VMs",
    fix: `${firmware}; inside a VM, turn on nested virtualisation for it; or use provider.hypervisor: libvirt with libvirtDriver: qemu (software emulation, slow)`,
  });
};

const checkHostOnlyRange: Check = (plan, p, f) => {
  if (p.hypervisor !== "virtualbox" || f.platform === "win32") return undefined;
  const version = f.vboxManageVersion ? parseVBoxVersion(f.vboxManageVersion.output) : undefined;
  if (version !== undefined && compareDottedVersions(version, HOSTONLY_RESTRICTED_SINCE) < 0)
    return { skip: `VirtualBox ${version} does not restrict host-only ranges` };
  if (
    version !== undefined &&
    f.platform === "darwin" &&
    compareDottedVersions(version, DARWIN_UNRESTRICTED_SINCE) >= 0
  )
    return { skip: `VirtualBox ${version} on macOS does not restrict host-only ranges` };
  const lab = plan.network.block;
  const allowed = parseVBoxNetworksConf(f.vboxNetworksConf);
  const inside = allowed.ipv4.find((r) => contains(r, lab));
  const where = allowed.isDefault ? `VirtualBox's default ${VBOX_DEFAULT_HOSTONLY}` : VBOX_NETWORKS_CONF;
  if (inside) return { pass: `lab network ${lab.text} is inside ${inside.text}, allowed by ${where}` };
  // A networks.conf replaces the default range: creating one must list it again.
  const line = allowed.isDefault ? `* ${VBOX_DEFAULT_HOSTONLY} ${lab.text}` : `* ${lab.text}`;
  const ranges = allowed.ipv4.map((r) => r.text).join(", ");
  const unread = allowed.invalid.length > 0 ? `; entries not understood: ${allowed.invalid.join(" ")}` : "";
  return problems({
    id: "virtualbox.hostonly-range",
    message: `VirtualBox allows host-only networks only in ${ranges || "no IPv4 range"} (${where}${unread}); the lab network ${lab.text} is outside, so vagrant up would stop`,
    fix: `${allowed.isDefault ? "create" : "add to"} ${VBOX_NETWORKS_CONF} the line \`${line}\`: sudo mkdir -p /etc/vbox && echo '${line}' | sudo tee -a ${VBOX_NETWORKS_CONF}${ranges ? `; or choose a network.cidr inside ${ranges}` : ""}`,
  });
};

const checkHostRoutes: Check = (plan, p, f) => {
  const lab = plan.network.block;
  const networks = hostNetworks(f.ipRoutes, f.ipAddrs);
  if (networks === undefined) return { skip: "no routes or addresses to read (ip -j)" };
  const own = hypervisorInterface(p.hypervisor);
  const seen = new Set<string>();
  const clashes = networks.filter((n) => {
    const key = `${n.network.text} on ${n.dev}`;
    if (own.pattern.test(n.dev) || !overlaps(n.network, lab) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (clashes.length === 0) return { pass: `no host network outside ${own.name} overlaps the lab network ${lab.text}` };
  return problems({
    id: "network.host-route",
    message: `the lab network ${lab.text} overlaps this host's ${clashes.map((c) => `${c.network.text} on ${c.dev}`).join(", ")}: the VMs would be unreachable from here, or hide that network`,
    fix: "choose another network.cidr in the cluster file (and move network.firstAddress, dhcpRange and addons.metallb.pools into it)",
  });
};

const checkMemory: Check = (plan, _p, f) => {
  const available = f.meminfo === null ? undefined : memAvailableMiB(f.meminfo);
  if (available === undefined) return { skip: "no MemAvailable to read (/proc/meminfo)" };
  const vms = plan.nodes.reduce((sum, n) => sum + n.memoryMiB, 0);
  const needed = vms + HOST_RESERVE_MIB;
  const count = `${plan.nodes.length} VM${plan.nodes.length === 1 ? "" : "s"}`;
  const what = `${vms} MiB for ${count} plus ${HOST_RESERVE_MIB} MiB for the host make ${needed} MiB`;
  if (available >= needed) return { pass: `${what}; ${available} MiB available` };
  return problems({
    id: "memory.available",
    message: `not enough free memory: ${what}, but only ${available} MiB is available (MemAvailable)`,
    fix: `lower nodes[].memory or the node counts until they need at most ${available - HOST_RESERVE_MIB} MiB (now ${vms} MiB), or free memory on this host`,
  });
};

const CHECKS: Readonly<Record<string, Check>> = {
  vagrant: checkVagrant,
  virtualbox: checkVirtualBox,
  "libvirt-plugin": checkLibvirtPlugin,
  libvirtd: checkLibvirtDaemon,
  virtualisation: checkVirtualisation,
  "hostonly-range": checkHostOnlyRange,
  "host-networks": checkHostRoutes,
  memory: checkMemory,
};

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1)?.trim() || "(no output)";
}

function vagrantProvider(plan: Plan): VagrantPlanProvider {
  if (plan.provider.name !== "vagrant") throw new Error(`vagrant host checks given a ${plan.provider.name} plan`);
  return plan.provider;
}

/** evaluateVagrantHost runs every check that applies to the plan on the facts (pure). */
export function evaluateVagrantHost(
  plan: Plan,
  facts: VagrantHostFacts,
): { readonly check: string; readonly outcome: HostCheckOutcome }[] {
  const p = vagrantProvider(plan);
  return Object.entries(CHECKS).flatMap(([check, run]) => {
    const outcome = run(plan, p, facts);
    return outcome ? [{ check, outcome }] : [];
  });
}

/** checkVagrantHost returns every problem the facts show for the plan (pure). */
export function checkVagrantHost(plan: Plan, facts: VagrantHostFacts): HostProblem[] {
  return evaluateVagrantHost(plan, facts).flatMap(({ outcome }) => ("problems" in outcome ? outcome.problems : []));
}

/** vagrantHostError is the one UserError that lists every problem with its fix. */
export function vagrantHostError(list: readonly HostProblem[]): UserError {
  return new UserError("the host is not ready for the vagrant provider", {
    details: list.map((p) => `- ${p.message}\n  fix: ${p.fix}`).join("\n"),
    hint: `fix ${list.length === 1 ? "the problem" : `the ${list.length} problems`} above, then run the command again`,
  });
}

/** Runs a host command from / (a Vagrantfile in the working directory may ask Vagrant to install plugins); never rejects. */
function runFact(path: string | undefined, args: readonly string[], timeoutMs: number): Promise<CommandFact | null> {
  if (path === undefined) return Promise.resolve(null);
  const env = { ...hostEnv(), VAGRANT_CHECKPOINT_DISABLE: "1" };
  return new Promise((resolve) => {
    execFile(path, args, { cwd: "/", env, encoding: "utf8", timeout: timeoutMs }, (err, stdout, stderr) => {
      if (!err) return resolve({ ok: true, output: stdout });
      const output = (stderr.trim() || stdout.trim() || err.message).split("\n").slice(-10).join("\n");
      resolve({ ok: false, output });
    });
  });
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return null;
  }
}

async function readWrite(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** gatherVagrantHostFacts reads this host for the checks; it changes nothing and never throws for what is absent. */
export async function gatherVagrantHostFacts(plan: Plan): Promise<VagrantHostFacts> {
  const p = vagrantProvider(plan);
  const vagrant = which("vagrant");
  const ip = which("ip");
  const [vagrantVersion, vagrantPlugins, vboxManageVersion, virshConnect, routes, addrs] = await Promise.all([
    runFact(vagrant, ["--version"], 30_000),
    p.hypervisor === "libvirt" ? runFact(vagrant, ["plugin", "list"], 60_000) : null,
    runFact(which("VBoxManage") ?? which("vboxmanage"), ["--version"], 30_000),
    runFact(which("virsh"), ["-c", LIBVIRT_URI, "uri"], 15_000),
    runFact(ip, ["-j", "-4", "route", "show"], 10_000),
    runFact(ip, ["-j", "-4", "addr", "show"], 10_000),
  ]);
  const [cpuinfo, vboxNetworksConf, meminfo, kvmReadWrite] = await Promise.all([
    readText("/proc/cpuinfo"),
    readText(VBOX_NETWORKS_CONF),
    readText("/proc/meminfo"),
    readWrite("/dev/kvm"),
  ]);
  return {
    platform: process.platform,
    arch: process.arch,
    vagrantVersion,
    vagrantPlugins,
    vboxManageVersion,
    vboxdrv: existsSync("/dev/vboxdrv"),
    vboxNetworksConf,
    virshConnect,
    libvirtSockets: LIBVIRT_SOCKETS.filter((s) => existsSync(s)),
    kvm: { exists: existsSync("/dev/kvm"), readWrite: kvmReadWrite },
    cpuFlags: cpuinfo === null ? null : (/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? null),
    ipRoutes: routes?.ok ? routes.output : null,
    ipAddrs: addrs?.ok ? addrs.output : null,
    meminfo,
  };
}

/**
 * vagrantHostProblems checks this host before the vagrant provider creates VMs (and in a dry
 * run): it logs what passed and returns every problem with its fix. Tests pass the facts.
 */
export async function vagrantHostProblems(
  plan: Plan,
  ctx: ProviderContext,
  gather: (plan: Plan) => Promise<VagrantHostFacts> = gatherVagrantHostFacts,
): Promise<HostProblem[]> {
  const results = evaluateVagrantHost(plan, await gather(plan));
  for (const { outcome } of results) {
    if ("pass" in outcome) ctx.log(`host: ${outcome.pass}`);
    else if ("skip" in outcome) ctx.log(`host: not checked: ${outcome.skip}`);
  }
  return results.flatMap(({ outcome }) => ("problems" in outcome ? outcome.problems : []));
}

/** assertVagrantHost is {@link vagrantHostProblems} as one UserError naming every problem and its fix. */
export async function assertVagrantHost(plan: Plan, ctx: ProviderContext): Promise<void> {
  const list = await vagrantHostProblems(plan, ctx);
  if (list.length > 0) throw vagrantHostError(list);
}
