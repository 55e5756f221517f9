/**
 * Vagrant's failures, translated: from what a failed vagrant command printed, one line that
 * says what is wrong and the fix, as a UserError pointing at the full output. Pure.
 *
 * The matchers follow vagrant's own English messages (templates/locales/en.yml of vagrant
 * 2.3 and locales/en.yml of vagrant-libvirt 0.11), which vagrant wraps over several lines:
 * they are matched on the text with every run of whitespace made one space. The values
 * vagrant fills in (URLs, errors, names) sit on lines of their own and are read from there.
 */
import { CommandError, UserError } from "../../errors.js";
import { errorExit, plainText, unescapeMachineReadable } from "./parse-output.js";

/** What a vagrant command printed. */
export interface VagrantOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/** The one-line explanation of a failure, and what to do about it. */
export interface Explanation {
  readonly message: string;
  readonly hint: string;
}

/** Both streams as plain text; machine-readable rows (status, ssh-config) unescaped. */
function streams(out: VagrantOutput): string[] {
  return [plainText(out.stderr), plainText(unescapeMachineReadable(out.stdout))];
}

const flat = (text: string) => text.replace(/\s+/g, " ").trim();

/** The value vagrant printed after `label` at the start of a line (`Error: ...`, `URL: ...`). */
function field(text: string, label: string): string | undefined {
  return new RegExp(`^\\s*${label}: (.+)$`, "m").exec(text)?.[1]?.trim();
}

/** The line after vagrant's wrapped introduction (`...try again.\n\n<message>`), for messages without a label. */
function lineAfter(text: string, introEnd: RegExp): string | undefined {
  const at = introEnd.exec(text);
  if (!at) return undefined;
  return text
    .slice(at.index + at[0].length)
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l !== "");
}

/** Failures that mean this host cannot reach the server at all. */
const OFFLINE =
  /Could not resolve host|Couldn't resolve host|Failed to connect to|Couldn't connect to server|Network is unreachable|Connection timed out|timed out after/i;

const boxHint =
  "check provider.box and provider.boxVersion in the cluster file; `vagrant box add <box> --box-version <version> --provider <hypervisor>` tries the same download";
const offlineHint =
  "connect this host to the network and run kubelab up again: vagrant downloads the box once and keeps it (vagrant box list)";

function boxDownload(box: string, error: string): Explanation {
  if (OFFLINE.test(error))
    return { message: `cannot download the box ${box}: this host is offline (${error})`, hint: offlineHint };
  return { message: `cannot download the box ${box}: ${error}`, hint: boxHint };
}

function libvirtConnection(text: string): Explanation {
  const uri = /libvirt URI (\S+?):?$/m.exec(text)?.[1];
  const socket = /Failed to connect socket to '([^']+)': (.+)$/m.exec(text);
  const reason = socket
    ? `${socket[1]}: ${socket[2]?.trim()}`
    : (/virConnectOpen failed: (.+)$/m.exec(text)?.[1]?.trim() ?? field(text, "Error while connecting to Libvirt"));
  const message = `vagrant cannot connect to libvirt${uri ? ` at ${uri}` : ""}: ${reason ?? "no reason given"}`;
  if (/No such file or directory|Connection refused/.test(reason ?? ""))
    return {
      message,
      hint: "libvirtd is not running: start it (sudo systemctl enable --now libvirtd, or virtqemud.socket where libvirt runs modular daemons), then run kubelab up again",
    };
  if (/Permission denied|authentication unavailable|polkit/i.test(reason ?? ""))
    return {
      message,
      hint: "this user may not manage libvirt: add it to the libvirt group (sudo usermod -aG libvirt $USER), log in again, then run kubelab up again",
    };
  return {
    message,
    hint: `make \`virsh ${uri ? `-c ${uri} ` : ""}list\` work as this user, then run kubelab up again`,
  };
}

function leftoverVm(kind: "libvirt domain" | "VirtualBox VM", name: string, remove: string): Explanation {
  return {
    message: `a ${kind} named ${name} already exists and is not one of this cluster's machines`,
    hint: `it is most likely left over from an earlier cluster of the same name: remove it (${remove}), or rename the cluster (VMs are named <cluster>-<node>)`,
  };
}

interface Rule {
  /** Matched against one stream with its whitespace flattened. */
  readonly match: RegExp;
  /** Explains the failure; `text` is the stream it matched in (lines kept), `all` both streams. */
  readonly explain: (m: RegExpExecArray, text: string, all: string) => Explanation;
}

/** Most specific first: a parallel run may print several errors. */
const RULES: readonly Rule[] = [
  {
    // provider_not_usable (VirtualBox: virtualbox_not_detected)
    match:
      /The provider '([^']+)' that was requested to back the machine '[^']+' is reporting that it isn't usable on this system\. The reason is shown below: (.*)/,
    explain: (m) => {
      const [, provider, reason = ""] = m;
      if (/Vagrant could not detect VirtualBox/.test(reason))
        return {
          message: "VirtualBox is not installed: vagrant cannot find its VBoxManage command",
          hint: "install VirtualBox (with VBoxManage on PATH), or use libvirt: provider.hypervisor: libvirt in the cluster file",
        };
      return {
        message: `vagrant cannot use its ${provider} provider on this host: ${reason.split(/(?<=[.!]) /)[0]}`,
        hint: "fix what vagrant reports (the full output has it), or choose the other hypervisor with provider.hypervisor in the cluster file",
      };
    },
  },
  {
    // provider_not_found, provider_not_found_suggestion
    match:
      /The provider '([^']+)' could not be found, but was requested to back the machine '[^']+'\..*?Vagrant knows about the following providers: ([\w-]+(?:, [\w-]+)*)/,
    explain: ([, provider, known]) => {
      if (provider === "libvirt")
        return {
          message: "vagrant has no libvirt provider: the vagrant-libvirt plugin is not installed",
          hint: "install it (Debian, Ubuntu: sudo apt install vagrant-libvirt; elsewhere: vagrant plugin install vagrant-libvirt), or use provider.hypervisor: virtualbox",
        };
      return {
        message: `vagrant has no ${provider} provider (it has ${known})`,
        hint:
          provider === "virtualbox"
            ? "use a vagrant that includes its VirtualBox provider (HashiCorp's packages do), or provider.hypervisor: libvirt"
            : "kubelab runs vagrant with virtualbox or libvirt: set provider.hypervisor to one of them",
      };
    },
  },
  {
    // active_machine_with_different_provider
    match:
      /An active machine was found with a different provider\..*?Machine name: (\S+) Active provider: (\S+) Requested provider: (\S+)/,
    explain: ([, machine, active, requested]) => ({
      message: `${machine} exists on ${active}, but the cluster file now asks for ${requested}`,
      hint: `kubelab down removes the ${active} machines, then kubelab up makes them on ${requested}; or set provider.hypervisor back to ${active}`,
    }),
  },
  {
    // fog_libvirt_connection_error
    match: /Error while connecting to Libvirt: /,
    explain: (_m, text) => libvirtConnection(text),
  },
  {
    // domain_name_exists (vagrant-libvirt), or libvirt's own refusal when defining the domain
    match: /Name `([^`]+)` of domain about to create is already taken|domain '([^']+)' already exists with uuid/,
    explain: ([, taken, defined]) => {
      const name = taken ?? defined ?? "";
      return leftoverVm(
        "libvirt domain",
        name,
        `virsh -c qemu:///system destroy ${name}; virsh -c qemu:///system undefine ${name} --remove-all-storage`,
      );
    },
  },
  {
    // vm_name_exists (VirtualBox)
    match: /A VirtualBox machine with the name '([^']+)' already exists\./,
    explain: ([, name = ""]) => leftoverVm("VirtualBox VM", name, `VBoxManage unregistervm ${name} --delete`),
  },
  {
    // virtualbox_name_exists: the VM is gone but its folder is not
    match:
      /The name of your virtual machine couldn't be set because VirtualBox is reporting another VM with that name already exists\./,
    explain: () => ({
      message: "VirtualBox refuses the VM name: another VM, or a leftover folder, already has it",
      hint: "remove the leftover (VBoxManage list vms; VBoxManage unregistervm <name> --delete; or its folder under ~/VirtualBox VMs), or rename the cluster",
    }),
  },
  {
    // virtualbox_invalid_host_subnet
    match:
      /The IP address configured for the host-only network is not within the allowed ranges\..*?Address: (\S+) Ranges: (.+?) Valid ranges can be modified/,
    explain: ([, address, ranges]) => ({
      message: `VirtualBox does not allow a host-only network at ${address} (it allows ${ranges})`,
      hint: `allow the lab network in /etc/vbox/networks.conf (a line "* <network.cidr>"), or choose network.cidr within ${ranges}`,
    }),
  },
  {
    // actions.vm.forward_ports.collision_error
    match:
      /Vagrant cannot forward the specified ports on this VM.*? The forwarded port to (\d+) is already in use on the host machine\./,
    explain: ([, port]) => ({
      message: `host port ${port}, which vagrant forwards to a VM's SSH, is already taken by another program`,
      hint: `stop what listens on it (ss -ltnp 'sport = :${port}'), or let vagrant move the forward: vagrant reload <node> in the cluster directory (.kubelab/<cluster>/)`,
    }),
  },
  {
    // actions.vm.forward_ports.auto_empty
    match:
      /Vagrant found a port collision for the specified port and virtual machine\. While this port was marked to be auto-corrected, the ports in the auto-correction range are all also used\. VM: (\S+)/,
    explain: ([, vm]) => ({
      message: `no free host port for ${vm}'s SSH: every port vagrant may forward to (2200-2250) is taken`,
      hint: "stop vagrant VMs you no longer need (vagrant global-status) or other programs listening on ports 2200-2250",
    }),
  },
  {
    // box_add_short_not_found: a box name Vagrant Cloud did not answer for
    match: /The box '([^']+)' could not be found or could not be accessed in the remote catalog\./,
    explain: ([, box = ""], text) => {
      const error = field(text, "Error") ?? "no answer";
      if (OFFLINE.test(error)) return boxDownload(box, error);
      return { message: `the box ${box} was not found in Vagrant Cloud (${error})`, hint: boxHint };
    },
  },
  {
    // box_add_no_matching_version
    match:
      /The box you're attempting to add has no available version that matches the constraints you requested\..*?Box: (\S+) .*?Constraints: (.+?) Available versions: (.+?)(?= An error occurred|$)/,
    explain: ([, box, constraints, versions]) => ({
      message: `the box ${box} has no version ${constraints} for this hypervisor (it has ${versions})`,
      hint: "set provider.boxVersion to one of those versions, or remove it to use the newest",
    }),
  },
  {
    // box_add_no_matching_provider
    match:
      /The box you're attempting to add doesn't support the provider you requested\..*?Name: (\S+) .*?Requested provider: (\S+)/,
    explain: ([, box, requested = ""]) => {
      // vagrant prints the requested providers as a Ruby list: [:libvirt]
      const provider = requested.replace(/[[\]:]/g, "");
      return {
        message: `the box ${box} is not made for ${provider}`,
        hint: `choose a box made for ${provider} (provider.box in the cluster file), or leave provider.box unset for the pinned one`,
      };
    },
  },
  {
    // downloader_error, box_metadata_download_error
    match:
      /An error occurred while downloading the remote file\. The error message, if any, is reproduced below\.|There was an error while downloading the metadata for this box\./,
    explain: (_m, text, all) => {
      const error =
        lineAfter(text, /Please\s+fix\s+this\s+error\s+and\s+try\s+again\./) ??
        lineAfter(text, /The error message is shown below:/) ??
        "no error given";
      const file = /^Couldn't open file (.+)$/.exec(error)?.[1];
      if (file)
        return {
          message: `cannot open the box file ${file}`,
          hint: "check the box's location (provider.box in the cluster file, or the box's metadata), or add the box yourself first: vagrant box add <name> <file>",
        };
      const box = /Adding box '([^']+)'|Box '([^']+)' could not be found/.exec(all);
      return boxDownload(box?.[1] ?? box?.[2] ?? "of the cluster", error);
    },
  },
  {
    // box_not_found, box_not_found_with_provider
    match: /The box '([^']+)' does not exist\.|The box '([^']+)' isn't installed for the provider '([^']+)'/,
    explain: ([, missing, box, provider]) => ({
      message: `vagrant has no box ${missing ?? box}${provider ? ` for ${provider}` : ""}`,
      hint: "vagrant box list shows the installed boxes; check provider.box in the cluster file",
    }),
  },
  {
    // machine_locked, environment_locked
    match:
      /Vagrant can't use the requested machine because it is locked!.*?Name: (\S+)|Vagrant attempted to acquire a lock named '([^']+)', but this lock is being held by another instance of Vagrant already\./,
    explain: ([, machine, lock]) => ({
      message: `another vagrant process is using ${machine ?? `the lock ${lock}`}`,
      hint: "wait until it ends (or stop it), then run again",
    }),
  },
  {
    // ssh_not_ready
    match: /The provider for this Vagrant-managed machine is reporting that it is not yet ready for SSH\./,
    explain: () => ({
      message: "vagrant has no SSH address for a machine yet: it is not running, or still booting",
      hint: "wait a minute and run again; on libvirt, check that the machine got an address: virsh net-dhcp-leases vagrant-libvirt",
    }),
  },
  {
    // commands: vm not created (vagrant ssh, ssh-config of a machine that is not there)
    match: /VM must be created before running this command\. Run `vagrant up` first\./,
    explain: () => ({ message: "the machine does not exist", hint: "run kubelab up" }),
  },
];

/** Vagrant's own framing of errors, never the error itself. */
const FRAMING = [
  /^==> \S+: An error occurred\. The error will be shown after all tasks complete\.$/,
  /^An error occurred while executing multiple actions in parallel\.$/,
  /^Any errors that occurred are shown below\.$/,
  /^An error occurred while executing the action on the '[^']+'$/,
  /^machine\. Please handle this error then try again:$/,
];

/** The first sentence of the first paragraph of `text`, vagrant's framing left out, at most 200 characters. */
function firstSentence(text: string): string | undefined {
  const lines = plainText(text)
    .split("\n")
    .map((l) => l.trim())
    .map((l) => (FRAMING.some((f) => f.test(l)) ? "" : l));
  const start = lines.findIndex((l) => l !== "");
  if (start < 0) return undefined;
  const end = lines.indexOf("", start);
  const paragraph = lines.slice(start, end < 0 ? undefined : end).join(" ");
  const sentence = /^.+?[.!?](?=\s|$)/.exec(paragraph)?.[0] ?? paragraph;
  return sentence.length > 200 ? `${sentence.slice(0, 199)}…` : sentence;
}

/**
 * firstErrorLine is the first sentence of vagrant's error (vagrant wraps it over several
 * lines): from the `error-exit` row of a machine-readable run, else from stderr.
 */
export function firstErrorLine(out: VagrantOutput): string | undefined {
  return firstSentence(errorExit(out.stdout) ?? out.stderr);
}

/** explainVagrantFailure explains a failed vagrant command from its output; `command` names it (`vagrant up`). */
export function explainVagrantFailure(out: VagrantOutput, command: string): Explanation {
  const both = streams(out);
  for (const text of both) {
    const flattened = flat(text);
    for (const rule of RULES) {
      const m = rule.match.exec(flattened);
      if (m) {
        const e = rule.explain(m, text, both.join("\n"));
        return { message: flat(e.message), hint: e.hint };
      }
    }
  }
  const line = firstErrorLine(out);
  return {
    message: line ? `${command} failed: ${line}` : `${command} failed without saying why`,
    hint: "read vagrant's full output, fix what it reports, then run again",
  };
}

/**
 * vagrantError is the UserError for a failed vagrant command: the explanation as message and
 * hint, the log of its full output as details, and the command itself (a CommandError) as cause.
 */
export function vagrantError(
  out: VagrantOutput,
  run: { readonly argv: readonly string[]; readonly exitCode: number; readonly logPath?: string },
): UserError {
  const { message, hint } = explainVagrantFailure(out, `vagrant ${run.argv[0] ?? ""}`.trim());
  return new UserError(message, {
    hint,
    exitCode: 1,
    details: run.logPath ? `vagrant's full output: ${run.logPath}` : undefined,
    cause: new CommandError("localhost", ["vagrant", ...run.argv], run.exitCode, `${out.stderr}${out.stdout}`),
  });
}
