// shellQuote and buildCommand as strings: which words stay bare, how the others are quoted,
// what is refused, and where sudo goes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { shellQuote } from "./quote.js";
import { buildCommand } from "./ssh.js";

test("shellQuote: safe words stay bare, others are single-quoted", () => {
  assert.equal(
    shellQuote(["kubeadm", "init", "--config=/etc/kubelab/kubeadm.yaml"]),
    "kubeadm init --config=/etc/kubelab/kubeadm.yaml",
  );
  assert.equal(shellQuote(["echo", "a b"]), "echo 'a b'");
  assert.equal(shellQuote(["echo", "it's"]), "echo 'it'\\''s'");
  assert.equal(shellQuote(["echo", ""]), "echo ''");
  assert.equal(shellQuote(["echo", "$(x)"]), "echo '$(x)'");
});

test("shellQuote: NUL bytes and empty commands are refused", () => {
  assert.throws(() => shellQuote(["echo", "a\0b"]), /NUL/);
  assert.throws(() => shellQuote([]), /empty command/);
});

test("buildCommand: sudo -n -- for users other than root, unless sudo is false", () => {
  assert.equal(buildCommand(["cat", "/etc/x y"], "debian", undefined), "sudo -n -- cat '/etc/x y'");
  assert.equal(buildCommand(["cat", "/etc/x"], "debian", true), "sudo -n -- cat /etc/x");
  assert.equal(buildCommand(["cat", "/etc/x"], "debian", false), "cat /etc/x");
  assert.equal(buildCommand(["cat", "/etc/x"], "root", true), "cat /etc/x");
  // sudo's own options cannot be injected through the command.
  assert.equal(buildCommand(["-u", "bob", "id"], "debian", undefined), "sudo -n -- -u bob id");
});
