// Vagrant's failures translated into one line and a fix, from what the real vagrant printed
// (test/fixtures/vagrant/: recorded here, or rendered by vagrant's own code where the failure
// needs VirtualBox). Each recording must give its own explanation, never the generic one.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { CommandError, UserError } from "../../errors.js";
import { explainVagrantFailure, firstErrorLine, type VagrantOutput, vagrantError } from "./errors.js";

/** A recorded run: `<name>.stdout.txt` and `<name>.stderr.txt` (a stream with no file printed nothing). */
function recorded(name: string): VagrantOutput {
  const read = (stream: string) => {
    const url = new URL(`../../../test/fixtures/vagrant/${name}.${stream}.txt`, import.meta.url);
    return existsSync(url) ? readFileSync(url, "utf8") : "";
  };
  return { stdout: read("stdout"), stderr: read("stderr") };
}

/** recording → [message, hint] patterns. */
const CASES: Record<string, [RegExp, RegExp]> = {
  "up-virtualbox-not-installed": [
    /^VirtualBox is not installed: vagrant cannot find its VBoxManage command$/,
    /install VirtualBox .*provider\.hypervisor: libvirt/,
  ],
  "status-virtualbox-not-usable": [/^VirtualBox is not installed/, /install VirtualBox/],
  "up-provider-not-found": [
    /^vagrant has no vmware_desktop provider \(it has virtualbox, docker, hyperv, libvirt\)$/,
    /virtualbox or libvirt/,
  ],
  "up-libvirt-socket-missing": [
    /^vagrant cannot connect to libvirt at qemu\+unix:\/\/\/system\?socket=\S+\/absent\/libvirt-sock: \S+: No such file or directory$/,
    /libvirtd is not running: start it \(sudo systemctl enable --now libvirtd/,
  ],
  "up-libvirt-connection-refused": [
    /^vagrant cannot connect to libvirt at \S+refused\/libvirt-sock: \S+: Connection refused$/,
    /libvirtd is not running/,
  ],
  "up-box-file-missing": [/^cannot open the box file \/\S+\/no-such\.box$/, /vagrant box add/],
  "up-box-offline": [
    /^cannot download the box bento\/ubuntu-24\.04: this host is offline \(Could not resolve host: vagrantcloud\.com\)$/,
    /connect this host to the network/,
  ],
  "up-libvirt-domain-name-taken": [
    /^a libvirt domain named test already exists and is not one of this cluster's machines$/,
    /virsh -c qemu:\/\/\/system undefine test --remove-all-storage\), or rename the cluster/,
  ],
  "up-box-version-missing": [
    /^the box kubelab-test\/meta has no version 2\.0\.0 for this hypervisor \(it has 1\.0\.0, 1\.1\.0\)$/,
    /set provider\.boxVersion to one of those versions/,
  ],
  "up-box-provider-missing": [/^the box kubelab-test\/meta is not made for libvirt$/, /choose a box made for libvirt/],
  "ssh-config-not-created": [
    /^vagrant has no SSH address for a machine yet: it is not running, or still booting$/,
    /wait a minute/,
  ],
  "ssh-not-created": [/^the machine does not exist$/, /run kubelab up/],
  "virtualbox-name-exists.rendered-from-locale": [
    /^a VirtualBox VM named lab-master-1 already exists/,
    /VBoxManage unregistervm lab-master-1 --delete/,
  ],
  "virtualbox-host-only-range.rendered-from-locale": [
    /^VirtualBox does not allow a host-only network at 10\.77\.0\.1 \(it allows 192\.168\.56\.0\/21\)$/,
    /\/etc\/vbox\/networks\.conf/,
  ],
  "port-collision.rendered-from-locale": [
    /^host port 2222, which vagrant forwards to a VM's SSH, is already taken by another program$/,
    /ss -ltnp 'sport = :2222'/,
  ],
};

for (const [name, [message, hint]] of Object.entries(CASES)) {
  test(`explains ${name} in one line, with the fix`, () => {
    const e = explainVagrantFailure(recorded(name), "vagrant up");
    assert.match(e.message, message);
    assert.doesNotMatch(e.message, /\n/);
    assert.match(e.hint, hint);
  });
}

test("every recorded failure is explained above", () => {
  const dir = new URL("../../../test/fixtures/vagrant/", import.meta.url);
  const failures = new Set(
    readdirSync(dir)
      .filter((f) => /\.(stdout|stderr)\.txt$/.test(f))
      .map((f) => f.replace(/\.(stdout|stderr)\.txt$/, "")),
  );
  failures.delete("status-not-created");
  failures.delete("up-unknown-machine"); // the generic translation, below
  assert.deepEqual(
    [...failures].filter((f) => !(f in CASES)),
    [],
  );
});

test("a failure no rule knows: vagrant's first sentence, unwrapped, is quoted", () => {
  const out = recorded("up-unknown-machine");
  assert.deepEqual(explainVagrantFailure(out, "vagrant up"), {
    message:
      "vagrant up failed: The machine with the name 'master-9' was not found configured for this Vagrant environment.",
    hint: "read vagrant's full output, fix what it reports, then run again",
  });
  // A parallel run's framing ("An error occurred. The error will be shown after...") is skipped.
  assert.match(firstErrorLine(recorded("up-libvirt-socket-missing")) ?? "", /^Error while connecting to Libvirt: /);
  assert.match(firstErrorLine(recorded("status-virtualbox-not-usable")) ?? "", /^The provider 'virtualbox' that/);
  assert.equal(
    explainVagrantFailure({ stdout: "", stderr: "" }, "vagrant destroy").message,
    "vagrant destroy failed without saying why",
  );
});

test("vagrantError: a UserError (exit 1) with the log path as details and the command as cause", () => {
  const e = vagrantError(recorded("up-libvirt-connection-refused"), {
    argv: ["up", "--provider", "libvirt"],
    exitCode: 1,
    logPath: "/lab/.kubelab/lab/logs/x-vagrant-up.log",
  });
  assert.ok(e instanceof UserError);
  assert.equal(e.exitCode, 1);
  assert.match(e.message, /^vagrant cannot connect to libvirt/);
  assert.match(e.hint ?? "", /libvirtd is not running/);
  assert.equal(e.details, "vagrant's full output: /lab/.kubelab/lab/logs/x-vagrant-up.log");
  assert.ok(e.cause instanceof CommandError);
  assert.deepEqual(e.cause.argv, ["vagrant", "up", "--provider", "libvirt"]);
  assert.match(e.cause.tail, /Connection refused/);
});
