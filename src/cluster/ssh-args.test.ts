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
