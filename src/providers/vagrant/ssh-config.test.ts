// `vagrant ssh-config` parsed into endpoints: on the real output of a vagrant-libvirt VM
// (recorded from npm run test:vagrant), and on output rendered by vagrant's own template and
// renderer for what cannot run here (VirtualBox; test/fixtures/vagrant/README.md): VirtualBox's
// forwarded ports on 127.0.0.1 with quoted key paths, libvirt's management addresses on port 22.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseSshConfig, sshEndpoint } from "./ssh-config.js";

const recording = (file: string) =>
  readFileSync(new URL(`../../../test/fixtures/vagrant/${file}`, import.meta.url), "utf8");

test("libvirt, recorded from a real VM: the management address, port 22, user vagrant, the machine's own key", () => {
  const configs = parseSshConfig(recording("ssh-config-libvirt.real.txt"));
  assert.deepEqual([...configs.values()].map(sshEndpoint), [
    {
      host: "192.168.121.43",
      port: 22,
      user: "vagrant",
      privateKeyPath: "/tmp/kubelab-v590873-gmUK18/.vagrant/machines/master-1/libvirt/private_key",
    },
  ]);
});

test("VirtualBox: 127.0.0.1 and each machine's forwarded port, user vagrant, the quoted key path unquoted", () => {
  const configs = parseSshConfig(recording("ssh-config-virtualbox.rendered-from-template.txt"));
  const keys = "/home/dev/My Labs/.kubelab/lab/.vagrant/machines";
  assert.deepEqual([...configs.values()].map(sshEndpoint), [
    { host: "127.0.0.1", port: 2222, user: "vagrant", privateKeyPath: `${keys}/master-1/virtualbox/private_key` },
    { host: "127.0.0.1", port: 2200, user: "vagrant", privateKeyPath: `${keys}/worker-1/virtualbox/private_key` },
    // Before vagrant swaps in a key of its own, the machine takes its insecure key.
    { host: "127.0.0.1", port: 2201, user: "vagrant", privateKeyPath: "/home/dev/.vagrant.d/insecure_private_key" },
  ]);
  assert.deepEqual([...configs.keys()], ["master-1", "worker-1", "worker-2"]);
});

test("libvirt: the management network address, port 22; of several keys the first", () => {
  const configs = parseSshConfig(recording("ssh-config-libvirt.rendered-from-template.txt"));
  const keys = "/home/dev/labs/.kubelab/lab/.vagrant/machines";
  assert.deepEqual(configs.get("worker-1"), {
    machine: "worker-1",
    hostName: "192.168.121.187",
    port: 22,
    user: "vagrant",
    identityFiles: [`${keys}/worker-1/libvirt/private_key`, "/home/dev/.vagrant.d/insecure_private_key"],
  });
  assert.deepEqual(sshEndpoint(configs.get("worker-1") ?? assert.fail("no worker-1")), {
    host: "192.168.121.187",
    port: 22,
    user: "vagrant",
    privateKeyPath: `${keys}/worker-1/libvirt/private_key`,
  });
  assert.equal(configs.get("master-1")?.hostName, "192.168.121.23");
});

test("nothing in the text runs (Match exec), and a block without HostName is refused", () => {
  const marker = join(tmpdir(), `kubelab-ssh-config-${process.pid}`);
  const text = `Match exec "touch ${marker}"\n  User root\n\n${recording("ssh-config-libvirt.rendered-from-template.txt")}`;
  assert.equal(parseSshConfig(text).get("master-1")?.user, "vagrant");
  assert.equal(existsSync(marker), false, "Match exec ran");
  assert.throws(() => parseSshConfig("Host master-1\n  User vagrant\n"), /no HostName for master-1/);
});
