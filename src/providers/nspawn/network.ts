/**
 * The lab network of an nspawn cluster: one Linux bridge on the host, `kl-<cluster>`,
 * holding the plan's gateway address. Each node joins it with `--network-bridge` (nspawn
 * creates a veth pair: `vb-<machine>` on the host side, `host0` inside) and configures
 * host0 statically with systemd-networkd (the .network file below). Nodes reach each other
 * and the host; nothing is routed or NATed beyond the bridge.
 */
import { createHash } from "node:crypto";
import { UserError } from "../../errors.js";
import { addressIn, type IpAddrLink } from "../../net/host-addresses.js";
import { parseCidr } from "../../net/ipv4.js";
import type { Plan, PlanNode } from "../../plan/types.js";
import { run, tryRun } from "./host.js";

/** Linux interface names have at most 15 characters (IFNAMSIZ 16 with the NUL). */
const IFNAME_MAX = 15;

/**
 * bridgeName is `kl-<cluster>`; a cluster name too long for that (more than 12 characters)
 * gets `kl-` + the first 12 hex digits of the name's SHA-1 instead: stable, and distinct
 * for distinct names in practice.
 */
export function bridgeName(cluster: string): string {
  const plain = `kl-${cluster}`;
  if (plain.length <= IFNAME_MAX) return plain;
  return `kl-${createHash("sha1").update(cluster).digest("hex").slice(0, 12)}`;
}

export async function linkExists(name: string): Promise<boolean> {
  return (await tryRun("ip", ["link", "show", "dev", name])) !== undefined;
}

/**
 * ensureBridge creates the cluster's bridge with the gateway address and brings it up
 * (each step idempotent). It refuses a lab network that another host interface already
 * uses: the routes would clash.
 */
export async function ensureBridge(plan: Plan, log: (line: string) => void): Promise<string> {
  const name = bridgeName(plan.name);
  const links = JSON.parse(await run("ip", ["-j", "-4", "addr", "show"])) as IpAddrLink[];
  const taken = addressIn(links, plan.network.block, [name]);
  if (taken) {
    throw new UserError(
      `the lab network ${plan.network.cidr} is already in use on this host (${taken.address} on ${taken.ifname})`,
      { hint: "choose another network.cidr for this cluster" },
    );
  }
  if (!(await linkExists(name))) {
    log(`creating bridge ${name} (${plan.network.gateway}/${plan.network.prefix})`);
    await run("ip", ["link", "add", "name", name, "type", "bridge"]);
  }
  await run("ip", ["addr", "replace", `${plan.network.gateway}/${plan.network.prefix}`, "dev", name]);
  await run("ip", ["link", "set", "dev", name, "up"]);
  return name;
}

/** removeBridge deletes the cluster's bridge when it exists. */
export async function removeBridge(cluster: string): Promise<void> {
  const name = bridgeName(cluster);
  if (await linkExists(name)) await run("ip", ["link", "delete", "dev", name]);
}

/**
 * host0Network is the node's systemd-networkd file. Named 10-… so it wins over systemd's own
 * 80-container-host0.network (DHCP), which nothing on the bridge would answer.
 */
export function host0Network(plan: Plan, node: PlanNode): string {
  return `# kubelab: the node's static address on the lab network (bridge ${bridgeName(plan.name)}).
[Match]
Name=host0

[Network]
Address=${node.ip}/${plan.network.prefix}
Gateway=${plan.network.gateway}
LinkLocalAddressing=no
IPv6AcceptRA=no
`;
}

/**
 * freeNetwork returns the first of `candidates` (CIDRs) that no interface of this host has an
 * address in, for a machine that needs a network of its own (the baking node of `kubelab
 * image bake`, whose cluster's lab network may be in use by the running lab); undefined when
 * every one is taken.
 */
export async function freeNetwork(candidates: readonly string[]): Promise<string | undefined> {
  const links = JSON.parse(await run("ip", ["-j", "-4", "addr", "show"])) as IpAddrLink[];
  return candidates.find((c) => {
    const block = parseCidr(c);
    return block !== undefined && addressIn(links, block) === undefined;
  });
}
