// What image bake runs last inside the baking VM (pure text): host keys removed with a unit that
// makes new ones at first boot, the insecure key as the only login key, the VM generalised and
// powered off after the command returns.
import assert from "node:assert/strict";
import { test } from "node:test";
import { VAGRANT_INSECURE_RSA } from "../providers/vagrant/insecure-key.js";
import { HOST_KEY_UNIT, hostKeyUnit, POWEROFF_DELAY_S, sealGuestScript } from "./bake-guest.js";

test("the host key unit runs only without host keys, before sshd, and is wanted at boot and by ssh.service", () => {
  const unit = hostKeyUnit();
  assert.match(unit, /^ConditionPathExistsGlob=!\/etc\/ssh\/ssh_host_\*_key$/m);
  assert.match(unit, /^Before=ssh\.service sshd\.service$/m);
  assert.match(unit, /^Type=oneshot$/m);
  assert.match(unit, /^ExecStart=\/usr\/bin\/ssh-keygen -A$/m);
  assert.match(unit, /^WantedBy=multi-user\.target ssh\.service$/m);
  assert.ok(
    unit.indexOf("[Unit]") < unit.indexOf("[Service]") && unit.indexOf("[Service]") < unit.indexOf("[Install]"),
  );
});

test("the seal removes host keys, enables the unit, authorises only the given keys, generalises, then powers off", () => {
  const ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN+x vagrant insecure public key";
  const script = sealGuestScript("vagrant", [VAGRANT_INSECURE_RSA, `${ed}\n`]);
  const lines = script.split("\n");
  const at = (re: RegExp) => {
    const i = lines.findIndex((l) => re.test(l));
    assert.ok(i >= 0, `${re} in\n${script}`);
    return i;
  };
  assert.equal(lines[0], "set -e");
  const removed = at(/^rm -f \/etc\/ssh\/ssh_host_\*$/);
  const written = at(new RegExp(`> /etc/systemd/system/${HOST_KEY_UNIT.replaceAll(".", "\\.")}$`));
  assert.ok(script.includes(`printf '%s' '${hostKeyUnit()}' > /etc/systemd/system/${HOST_KEY_UNIT}`));
  const enabled = at(new RegExp(`^systemctl enable ${HOST_KEY_UNIT.replaceAll(".", "\\.")}$`));
  // authorized_keys is replaced (>), not appended to: the baking VM's own key goes.
  const keys = at(/> "\$home\/\.ssh\/authorized_keys"$/);
  assert.equal(lines[keys], `printf '%s\\n' '${VAGRANT_INSECURE_RSA}' '${ed}' > "$home/.ssh/authorized_keys"`);
  at(/^chmod 0600 "\$home\/\.ssh\/authorized_keys"$/);
  const machineId = at(/^truncate -s 0 \/etc\/machine-id$/);
  const sync = at(/^sync$/);
  const poweroff = at(new RegExp(`^systemd-run --on-active=${POWEROFF_DELAY_S} .*/bin/systemctl poweroff$`));
  assert.ok(removed < written && written < enabled && enabled < keys && keys < machineId);
  assert.ok(machineId < sync && sync < poweroff && poweroff === lines.length - 2);
  assert.throws(() => sealGuestScript("vagrant", []), /no public key/);
});

test("the login user's name is quoted wherever it reaches the shell", () => {
  const script = sealGuestScript("a b", [VAGRANT_INSECURE_RSA]);
  assert.match(script, /getent passwd 'a b' \|/);
  assert.match(script, /chown 'a b' "\$home/);
});
