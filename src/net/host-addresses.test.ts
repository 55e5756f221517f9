import assert from "node:assert/strict";
import { test } from "node:test";
import { addressIn, type IpAddrLink } from "./host-addresses.js";
import { type Cidr, containsAddress, parseCidr } from "./ipv4.js";

const LAB = parseCidr("192.168.56.0/24") as Cidr;

test("containsAddress: inside, at both ends, outside, and text that is no address", () => {
  assert.equal(containsAddress(LAB, "192.168.56.0"), true);
  assert.equal(containsAddress(LAB, "192.168.56.11"), true);
  assert.equal(containsAddress(LAB, "192.168.56.255"), true);
  assert.equal(containsAddress(LAB, "192.168.57.0"), false);
  assert.equal(containsAddress(LAB, "10.0.2.15"), false);
  assert.equal(containsAddress(LAB, LAB.first + 1), true);
  assert.equal(containsAddress(LAB, "fe80::1"), false);
  assert.equal(containsAddress(LAB, "192.168.56"), false);
});

/** Trimmed `ip -j addr show` of a Vagrant host: NAT-side NIC, VirtualBox's host-only NIC, a bridge. */
const LINKS: IpAddrLink[] = [
  { ifname: "lo", addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8 }] },
  {
    ifname: "eth0",
    addr_info: [
      { family: "inet", local: "10.0.2.15", prefixlen: 24 },
      { family: "inet6", local: "fe80::a00:27ff:fe8a:3c5e", prefixlen: 64 },
    ],
  },
  { ifname: "vboxnet0", addr_info: [{ family: "inet", local: "192.168.56.1", prefixlen: 24 }] },
  { ifname: "kl-lab", addr_info: [{ family: "inet", local: "192.168.56.2", prefixlen: 24 }] },
  { ifname: "docker0" },
];

test("addressIn finds the host's address in the lab network and the interface holding it", () => {
  assert.deepEqual(addressIn(LINKS, LAB), { ifname: "vboxnet0", address: "192.168.56.1" });
  assert.deepEqual(addressIn(LINKS, LAB, ["vboxnet0"]), { ifname: "kl-lab", address: "192.168.56.2" });
  assert.equal(addressIn(LINKS, LAB, ["vboxnet0", "kl-lab"]), undefined);
  assert.equal(addressIn(LINKS, parseCidr("198.51.100.0/24") as Cidr), undefined);
  assert.equal(addressIn([], LAB), undefined);
});
