// The OpenSSH argv of kubelab ssh: nothing from the cluster file is read as an ssh option.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sshArgs } from "./ssh-args.js";

const node = { host: "192.168.56.11", port: 22, user: "root" };

describe("sshArgs", () => {
  it("puts -- before the destination, so a user or host starting with - is no option", () => {
    const args = sshArgs({ ...node, user: "-oProxyCommand=touch /tmp/x" }, "/lab", []);
    const dash = args.indexOf("--");
    assert.ok(dash >= 0, args.join(" "));
    assert.equal(args[dash + 1], "-oProxyCommand=touch /tmp/x@192.168.56.11");
    assert.ok(
      args.slice(0, dash).every((a) => !a.includes("ProxyCommand=touch")),
      "nothing of the user before --",
    );
  });

  it("the command follows the destination, after the same --", () => {
    const args = sshArgs(node, "/lab", ["journalctl", "-u", "kubelet"]);
    assert.deepEqual(args.slice(args.indexOf("--")), ["--", "root@192.168.56.11", "journalctl", "-u", "kubelet"]);
  });
});

describe("sshArgs through a jump host", () => {
  const jump = { host: "bastion.example", port: 2222, user: "admin", privateKeyPath: "/keys/bastion" };
  const option = (args: string[], name: string) =>
    args.filter((a, i) => args[i - 1] === "-o" && a.startsWith(`${name}=`)).map((a) => a.slice(name.length + 1));

  it("checks the jump host against the cluster's known_hosts with its key, not with -J", () => {
    const args = sshArgs({ ...node, privateKeyPath: "/lab/.kubelab/lab/id_ed25519", jump }, "/lab/.kubelab/lab", []);
    assert.equal(args.includes("-J"), false, "-J would start the jump's ssh without our options");
    const [proxy] = option(args, "ProxyCommand");
    assert.equal(
      proxy,
      "ssh -o UserKnownHostsFile=/lab/.kubelab/lab/known_hosts -o StrictHostKeyChecking=accept-new -p 2222 " +
        "-i /keys/bastion -o IdentitiesOnly=yes -W %h:%p -- admin@bastion.example",
    );
    assert.deepEqual(option(args, "UserKnownHostsFile"), ["/lab/.kubelab/lab/known_hosts"]);
  });

  it("a jump host without a key of its own is offered the cluster's key (the agent's too)", () => {
    const args = sshArgs(
      { ...node, privateKeyPath: "/lab/id_ed25519", jump: { ...jump, privateKeyPath: undefined } },
      "/lab",
      [],
    );
    const [proxy] = option(args, "ProxyCommand");
    assert.match(proxy ?? "", / -i \/lab\/id_ed25519 -W %h:%p /);
  });

  it("quotes the paths for the shell that runs it and doubles their %", () => {
    const args = sshArgs({ ...node, jump }, "/my labs/100%/.kubelab/lab", []);
    const [proxy] = option(args, "ProxyCommand");
    assert.match(proxy ?? "", / 'UserKnownHostsFile=\/my labs\/100%%\/\.kubelab\/lab\/known_hosts' /);
  });

  it("--strict-host-keys: no trust on first use, on every hop", () => {
    const args = sshArgs({ ...node, jump }, "/lab", [], { strictHostKeys: true });
    assert.deepEqual(option(args, "StrictHostKeyChecking"), ["yes"]);
    assert.match(option(args, "ProxyCommand")[0] ?? "", /StrictHostKeyChecking=yes/);
    assert.doesNotMatch(args.join(" "), /accept-new/);
  });
});
