/**
 * What `kubelab image bake` does inside the baking VM last, so that no two VMs of the box
 * share a secret: its SSH host keys removed, with a unit that makes new ones at each clone's
 * first boot (Debian's openssh-server makes them only when the package is installed; Ubuntu
 * relies on cloud-init, which a Vagrant box may not run); the login user's authorized_keys
 * back to Vagrant's insecure public key(s), so that Vagrant reaches each new VM once and
 * replaces that key with one of the VM's own (`config.ssh.insert_key`); machine-id emptied,
 * caches dropped; then a poweroff shortly after the command returns. Pure: text out.
 */
import { shellQuote } from "../remote/quote.js";

/** The unit that makes missing SSH host keys before sshd starts. */
export const HOST_KEY_UNIT = "kubelab-ssh-host-keys.service";

/**
 * hostKeyUnit is the unit file's text: it runs only while no host key exists (so at a clone's
 * first boot, and never again), before sshd under either of its unit names, and is wanted by
 * both the boot target and ssh.service (socket-activated sshd on newer Ubuntu starts it too).
 */
export function hostKeyUnit(): string {
  return [
    "[Unit]",
    "Description=Make the SSH host keys of this machine (its kubelab box was baked without them)",
    "ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key",
    "Before=ssh.service sshd.service",
    "",
    "[Service]",
    "Type=oneshot",
    "ExecStart=/usr/bin/ssh-keygen -A",
    "RemainAfterExit=yes",
    "",
    "[Install]",
    "WantedBy=multi-user.target ssh.service",
    "",
  ].join("\n");
}

/**
 * GENERALIZE makes the VM a template: a new machine-id at each clone's first boot (systemd
 * makes one when the file is empty; DHCP client ids derive from it), no leftovers of
 * kubelab's spool or apt's cache.
 */
const GENERALIZE = [
  "rm -rf /var/cache/kubelab /var/lib/apt/lists/*",
  "apt-get clean",
  "truncate -s 0 /etc/machine-id",
  "rm -f /var/lib/dbus/machine-id",
];

/** Seconds between the script's end and the poweroff: time for the SSH command to return. */
export const POWEROFF_DELAY_S = 3;

/**
 * sealGuestScript is the shell script (run as root) that ends the bake inside the VM: host
 * keys gone and their unit enabled, `user`'s authorized_keys holding exactly `publicKeys`,
 * the generalisation, the disk synced, and a poweroff scheduled {@link POWEROFF_DELAY_S}
 * seconds later (a poweroff run directly would end the SSH session before its exit status
 * came back). Running it twice leaves the same result.
 */
export function sealGuestScript(user: string, publicKeys: readonly string[]): string {
  if (publicKeys.length === 0) throw new Error("sealGuestScript: no public key to authorise");
  const unit = `/etc/systemd/system/${HOST_KEY_UNIT}`;
  const keys = publicKeys.map((k) => k.trim()).filter(Boolean);
  return [
    "set -e",
    "rm -f /etc/ssh/ssh_host_*",
    `printf '%s' ${shellQuote([hostKeyUnit()])} > ${unit}`,
    `systemctl enable ${HOST_KEY_UNIT}`,
    `home="$(getent passwd ${shellQuote([user])} | cut -d: -f6)"`,
    // A pipeline's status is its last command's: an unknown user must stop the script here.
    'test -n "$home"',
    `install -d -m 0700 -o ${shellQuote([user])} "$home/.ssh"`,
    `printf '%s\\n' ${keys.map((k) => shellQuote([k])).join(" ")} > "$home/.ssh/authorized_keys"`,
    `chown ${shellQuote([user])} "$home/.ssh/authorized_keys"`,
    `chmod 0600 "$home/.ssh/authorized_keys"`,
    ...GENERALIZE,
    "sync",
    `systemd-run --on-active=${POWEROFF_DELAY_S} --unit=kubelab-bake-poweroff /bin/systemctl poweroff`,
    "",
  ].join("\n");
}
