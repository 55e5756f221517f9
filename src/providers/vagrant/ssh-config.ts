/**
 * `vagrant ssh-config m1 m2 ...`: one OpenSSH `Host <machine>` block per machine (vagrant's
 * templates/commands/ssh_config/config.erb), parsed with the ssh-config package. VirtualBox
 * machines are reached through a forwarded port on 127.0.0.1 (2222, 2200, ...), libvirt
 * machines on their management network address, port 22. The user is `vagrant`, who has
 * passwordless sudo (the remote engine runs commands through `sudo -n`). Pure.
 */
import SSHConfig, { LineType } from "ssh-config";
import type { SshEndpoint } from "../../remote/types.js";

/** What vagrant says about reaching one machine. */
export interface VagrantSshConfig {
  /** The machine's name (the `Host` line). */
  readonly machine: string;
  readonly hostName: string;
  readonly port: number;
  readonly user: string;
  /** Every IdentityFile, in order (vagrant quotes the ones with spaces; the quotes are gone here). */
  readonly identityFiles: readonly string[];
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** parseSshConfig returns each machine's settings by name; a block without HostName is an error. */
export function parseSshConfig(text: string): Map<string, VagrantSshConfig> {
  const config = SSHConfig.parse(text);
  const out = new Map<string, VagrantSshConfig>();
  for (const line of config) {
    if (line.type !== LineType.DIRECTIVE || line.param.toLowerCase() !== "host" || typeof line.value !== "string")
      continue;
    const machine = line.value;
    // Vagrant's output is trusted, but nothing in it should ever run a command.
    const c = config.compute(machine, { ignoreCase: true, matchExec: false });
    const hostName = one(c.hostname);
    if (!hostName) throw new Error(`vagrant ssh-config: no HostName for ${machine}:\n${text}`);
    const identity = c.identityfile;
    out.set(machine, {
      machine,
      hostName,
      port: Number(one(c.port) ?? 22),
      user: one(c.user) ?? "vagrant",
      identityFiles: Array.isArray(identity) ? identity : identity ? [identity] : [],
    });
  }
  return out;
}

/** sshEndpoint is how kubelab connects to the machine: its address and port, its user, its first key. */
export function sshEndpoint(c: VagrantSshConfig): SshEndpoint {
  return { host: c.hostName, port: c.port, user: c.user, privateKeyPath: c.identityFiles[0] };
}
