import { UserError } from "../errors.js";
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

/**
 * Validate hosts: supported OS and architecture, clocks in step. (Node names and addresses are
 * unique by the plan's validation; configure-os sets each hostname from its node name.)
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
    }
    if (problems.length > 0)
      throw new UserError(`${problems.length} host problem(s)`, { details: problems.join("\n"), exitCode: 1 });
  },
};
