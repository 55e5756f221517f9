// The facts parser on recorded output of the facts script's sections (the script itself runs
// for real in facts.int.test.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseFacts } from "./facts.js";

/**
 * The tunnels section as the script printed it, as root, on a Debian 12 host running Linux
 * 6.18.44 built with `# CONFIG_NET_IPIP is not set` and `CONFIG_VXLAN=y` (no /lib/modules), and
 * the same inside a systemd-nspawn container started with a node's options (--capability=all,
 * --system-call-filter=@keyring, a private network). There `ip link add kl-probe type ipip`
 * fails with "Error: Unknown device type." (exit 2) and the vxlan device is made.
 */
const RECORDED_NO_IPIP = "\n@@tunnels \nipip no\nvxlan yes\n";

test("the tunnels section says which tunnel devices the kernel can make", () => {
  assert.deepEqual(parseFacts(RECORDED_NO_IPIP, 0).tunnels, { ipip: false, vxlan: true });
  assert.deepEqual(parseFacts("\n@@tunnels \nipip yes\nvxlan yes\n", 0).tunnels, { ipip: true, vxlan: true });
});

test("a tunnel the probe could not answer for is unknown, not missing", () => {
  // unshare refused (no right to make a network namespace) or ip absent: the section is empty.
  assert.deepEqual(parseFacts("\n@@tunnels \n", 0).tunnels, {});
  assert.deepEqual(parseFacts("\n@@hostname \nnode\n", 0).tunnels, {}, "output of an older script");
  assert.deepEqual(parseFacts("\n@@tunnels \nvxlan no\nipip maybe\n", 0).tunnels, { vxlan: false });
});
