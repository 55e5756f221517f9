/**
 * Checks of the cluster file alone. The rules that validate the file are the one place these
 * problems are defined (src/plan/rules.ts); doctor reports them under the failure they cause.
 */
import type { LocatedIssue } from "../../config/issues.js";
import { formatPath } from "../../config/positions.js";
import { validateCluster } from "../../plan/validate.js";
import type { Check, Evidence, Finding } from "../types.js";

const issues = (e: Evidence) => {
  const r = validateCluster(e.file);
  return { errors: r.ok ? [] : r.errors, warnings: r.warnings };
};

const under = (prefix: readonly (string | number)[]) => (i: LocatedIssue) => prefix.every((p, k) => i.path[k] === p);

const asFinding =
  (verdict: "fail" | "warn") =>
  (i: LocatedIssue): Finding => ({
    verdict,
    subject: formatPath(i.path),
    evidence: [i.message],
    fix: i.fix,
  });

/** Findings for the issues under `prefix`, or one pass finding saying what holds. */
function fromRules(e: Evidence, prefix: readonly (string | number)[], passed: string): Finding[] {
  const { errors, warnings } = issues(e);
  const found = [
    ...errors.filter(under(prefix)).map(asFinding("fail")),
    ...warnings.filter(under(prefix)).map(asFinding("warn")),
  ];
  return found.length > 0 ? found : [{ verdict: "pass", evidence: [passed] }];
}

/** Rule paths reported by a check of their own rather than by file.valid. */
const OWNED: readonly (readonly (string | number)[])[] = [
  ["addons", "metallb"],
  ["kubernetes", "strictARP"],
];

export const fileChecks: readonly Check[] = [
  {
    id: "file.valid",
    title: "the cluster file is valid (problems not reported by a check of their own)",
    needs: ["file"],
    references: [],
    run(e) {
      const { errors, warnings } = issues(e);
      // Problems another check owns are reported there, under the failure they cause.
      const own = (i: LocatedIssue) => !OWNED.some((prefix) => under(prefix)(i));
      const found = [...errors.filter(own).map(asFinding("fail")), ...warnings.filter(own).map(asFinding("warn"))];
      return found.length > 0 ? found : [{ verdict: "pass", evidence: ["no errors, no warnings"] }];
    },
  },
  {
    id: "metallb.pool-placement",
    title: "MetalLB pools inside the lab network, clear of node addresses, the host and DHCP",
    needs: ["file"],
    references: [],
    run(e, plan) {
      if (!plan.addons.metallb.enabled) return [];
      return fromRules(
        e,
        ["addons", "metallb"],
        `${plan.addons.metallb.pools.join(", ")} inside ${plan.network.cidr}, off ${plan.nodes.length} node addresses, the host (${plan.network.gateway})${plan.network.dhcpRange ? ` and DHCP ${plan.network.dhcpRange}` : ""}`,
      );
    },
  },
  {
    id: "kube-proxy.strict-arp-planned",
    title: "kube-proxy in IPVS mode has strictARP in the planned configuration (MetalLB L2)",
    needs: ["file"],
    references: ["metallb/metallb#153"],
    run(e, plan) {
      if (!plan.addons.metallb.enabled || plan.kubernetes.proxyMode !== "ipvs") return [];
      return fromRules(e, ["kubernetes", "strictARP"], "proxyMode ipvs with strictARP: true");
    },
  },
  {
    id: "network.node-ip-planned",
    title: "every node's address (kubelet node-ip) is on the lab network, not a NAT network",
    needs: ["file"],
    references: ["k0sproject/k0sctl#172", "alexellis/k3sup#306"],
    run(e, plan) {
      const nat = plan.nodes.filter((n) => n.ip.startsWith("10.0.2."));
      if (nat.length > 0)
        return nat.map((n) => ({
          verdict: "fail" as const,
          subject: n.name,
          evidence: [`node-ip ${n.ip} is in VirtualBox's NAT network 10.0.2.0/24`],
          fix: "put the lab network (network.cidr) elsewhere, e.g. 192.168.56.0/24",
        }));
      return [
        {
          verdict: "pass",
          evidence: [`${plan.nodes.map((n) => `${n.name} ${n.ip}`).join(", ")} in ${plan.network.cidr}`],
        },
      ];
    },
  },
];
