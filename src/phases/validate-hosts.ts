import { UserError } from "../errors.js";
import type { CalicoEncapsulation, Plan } from "../plan/types.js";
import { CALICO_ENCAPSULATIONS } from "../render/calico-encapsulation.js";
import type { NodeFacts } from "./facts.js";
import type { Phase } from "./phase.js";

/** Distributions kubelab prepares; others are refused before anything changes. */
const SUPPORTED: Readonly<Record<string, readonly string[]>> = { debian: ["12", "13"], ubuntu: ["22.04", "24.04"] };
/** kubeadm's certificates and etcd leases misbehave when clocks disagree by more than this (k0sctl uses the same). */
const MAX_CLOCK_SKEW_SECONDS = 30;

/** unsupportedOs returns why a node's OS is refused, or undefined when it is supported. */
export function unsupportedOs(facts: NodeFacts): string | undefined {
  const versions = SUPPORTED[facts.os.id];
  if (versions?.includes(facts.os.versionId)) return undefined;
  const list = Object.entries(SUPPORTED)
    .map(([id, v]) => `${id} ${v.join("/")}`)
    .join(", ");
  return `${facts.os.prettyName} is not supported (kubelab prepares ${list})`;
}

/** The plan's Calico encapsulation and the tunnel device it is made of; undefined without one. */
function calicoTunnel(plan: Plan): { encapsulation: CalicoEncapsulation; tunnel: "ipip" | "vxlan" } | undefined {
  const cni = plan.addons.cni;
  if (cni.plugin !== "calico") return undefined;
  const tunnel = CALICO_ENCAPSULATIONS[cni.encapsulation].tunnel;
  return tunnel === undefined ? undefined : { encapsulation: cni.encapsulation, tunnel };
}

/**
 * unreachableTunnel returns why a node's kernel cannot carry the plan's Calico encapsulation,
 * with the setting to use instead, or undefined when it can (or there is no tunnel to make, or
 * the probe could not tell). Caught here, before kubeadm, rather than as a calico-node that
 * never gets ready once the cluster is up.
 */
export function unreachableTunnel(plan: Plan, facts: NodeFacts): string | undefined {
  const needs = calicoTunnel(plan);
  if (needs === undefined || facts.tunnels[needs.tunnel] !== false) return undefined;
  const other = needs.tunnel === "ipip" ? "vxlan" : "ipip";
  // With neither tunnel, plain routes are what is left; they need the nodes on one L2 network.
  const instead = facts.tunnels[other] === false ? "none (with every node on one L2 network)" : other;
  return `cannot do ${needs.encapsulation} (its kernel has no ${needs.tunnel} support); set addons.cni.encapsulation: ${instead}`;
}

/**
 * Validate hosts: supported OS and architecture, clocks in step, and a kernel that can make the
 * tunnels of the chosen Calico encapsulation. (Node names and addresses are unique by the plan's
 * validation; configure-os sets each hostname from its node name.)
 */
export const validateHostsPhase: Phase = {
  title: "Validate hosts",
  async run(ctx) {
    const problems: string[] = [];
    for (const n of ctx.plan.nodes) {
      const facts = ctx.facts.get(n.name);
      if (!facts) continue;
      const os = unsupportedOs(facts);
      if (os) problems.push(`${n.name}: ${os}`);
      if (!["amd64", "arm64"].includes(facts.arch))
        problems.push(`${n.name}: architecture ${facts.arch} is not supported (amd64, arm64)`);
      const skew = Math.abs(facts.clock.node - facts.clock.local);
      if (skew > MAX_CLOCK_SKEW_SECONDS)
        problems.push(
          `${n.name}: clock is ${skew} s off this host's (at most ${MAX_CLOCK_SKEW_SECONDS} s); enable NTP`,
        );
      const tunnel = unreachableTunnel(ctx.plan, facts);
      if (tunnel) problems.push(`${n.name}: ${tunnel}`);
      const needs = calicoTunnel(ctx.plan);
      if (needs !== undefined && facts.tunnels[needs.tunnel] === undefined)
        ctx.log(
          `${n.name}: could not probe its kernel for ${needs.tunnel} support (no unshare or ip, or no right to make a network namespace); going on`,
        );
    }
    if (problems.length > 0)
      throw new UserError(`${problems.length} host problem(s)`, { details: problems.join("\n"), exitCode: 1 });
  },
};
