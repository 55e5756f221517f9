import type { Remote } from "../remote/types.js";
import { renderModulesLoad, renderSysctl } from "../render/node-files.js";
import type { NodeFacts } from "./facts.js";
import { change, eachNode, type Phase, type PhaseContext } from "./phase.js";

/**
 * How to tell a module's feature is present even where modprobe cannot load it (nspawn
 * nodes, kernels with the feature built in): a path that exists only when it works.
 */
const FEATURE_PROBE: Readonly<Record<string, string>> = {
  overlay: "/proc/filesystems:overlay",
  br_netfilter: "/proc/sys/net/bridge/bridge-nf-call-iptables",
};

function moduleReady(facts: NodeFacts, name: string): boolean {
  if (facts.modules.includes(name)) return true;
  const probe = FEATURE_PROBE[name];
  if (probe === "/proc/filesystems:overlay") return facts.filesystems.includes("overlay");
  if (probe?.startsWith("/proc/sys/")) return facts.sysctls.get(probe.slice(10).replaceAll("/", ".")) !== undefined;
  return false;
}

/** wantedSysctls parses the rendered sysctl file into key -> value. */
function wantedSysctls(content: string): Map<string, string> {
  return new Map(
    content
      .split("\n")
      .filter((l) => l.includes("=") && !l.startsWith("#"))
      .map((l) => l.split("=").map((p) => p.trim()) as [string, string]),
  );
}

async function configureNode(ctx: PhaseContext, name: string, remote: Remote, facts: NodeFacts): Promise<void> {
  if (facts.hostname !== name) {
    await change(ctx, name, `set hostname to ${name} (was ${facts.hostname})`, () =>
      remote
        .run(["hostnamectl", "set-hostname", name])
        .catch(() => remote.writeFile("/etc/hostname", `${name}\n`).then(() => remote.run(["hostname", name]))),
    );
  }
  // kubelet refuses to start with swap on (failSwapOn defaults to true).
  if (facts.swaps.length > 0)
    await change(ctx, name, `turn swap off (${facts.swaps.join(", ")})`, () => remote.run(["swapoff", "-a"]));
  if (facts.fstabSwap.length > 0) {
    const fstab = facts.files.get("/etc/fstab") ?? "";
    const next = fstab
      .split("\n")
      .map((l) => (facts.fstabSwap.includes(l) ? `# disabled by kubelab (kubelet needs swap off): ${l}` : l))
      .join("\n");
    await change(ctx, name, "disable swap in /etc/fstab", () => remote.writeFile("/etc/fstab", next));
  }
  const modules = renderModulesLoad(ctx.plan);
  if (facts.files.get(modules.path) !== modules.content) {
    await change(ctx, name, `write ${modules.path}`, () => remote.writeFile(modules.path, modules.content));
  }
  const wantedModules = modules.content.split("\n").filter((l) => l && !l.startsWith("#"));
  for (const m of wantedModules.filter((m) => !moduleReady(facts, m))) {
    await change(ctx, name, `load kernel module ${m}`, () => remote.run(["modprobe", m]));
  }
  const sysctl = renderSysctl(ctx.plan);
  if (facts.files.get(sysctl.path) !== sysctl.content) {
    await change(ctx, name, `write ${sysctl.path}`, () => remote.writeFile(sysctl.path, sysctl.content));
  }
  const stale = [...wantedSysctls(sysctl.content)].filter(([k, v]) => facts.sysctls.get(k) !== v);
  if (stale.length > 0) {
    await change(ctx, name, `apply sysctls ${stale.map(([k]) => k).join(", ")}`, () =>
      remote.run(["sysctl", "-p", sysctl.path]),
    );
  }
}

/** Configure the OS: hostname, swap off now and at boot, kernel modules, sysctls. */
export const configureOsPhase: Phase = {
  title: "Configure the OS",
  run: (ctx) => eachNode(ctx, (n, remote, facts) => configureNode(ctx, n.name, remote, facts)),
};
