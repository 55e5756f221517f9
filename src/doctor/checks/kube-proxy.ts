/**
 * Checks of kube-proxy's live configuration (the kube-system/kube-proxy ConfigMap kubeadm
 * made): the mode it runs in, and strictARP where IPVS and MetalLB's layer 2 mode meet.
 */
import { parse } from "yaml";
import { API_KEYS } from "../api.js";
import { nameOf, namespaceOf, stringMap } from "../object.js";
import type { Check, Finding } from "../types.js";
import { items } from "./common.js";

/** kube-proxy.mode: the live mode, and strictARP where IPVS meets MetalLB. */
const kubeProxyMode: Check = {
  id: "kube-proxy.mode",
  title: "the live kube-proxy configuration: IPVS has strictARP when MetalLB is in use",
  needs: ["api"],
  references: ["metallb/metallb#153"],
  run(e, plan) {
    const cm = items(e, API_KEYS.configMap).find((c) => namespaceOf(c) === "kube-system" && nameOf(c) === "kube-proxy");
    if (!cm) return [];
    const text = stringMap(cm, "data")["config.conf"];
    const subject = "ConfigMap kube-system/kube-proxy";
    if (text === undefined)
      return [
        {
          verdict: "warn",
          subject,
          evidence: ["no config.conf key"],
          fix: "kubeadm writes config.conf: kubeadm init phase addon kube-proxy",
        },
      ];
    let config: { mode?: string; ipvs?: { strictARP?: boolean } };
    try {
      config = (parse(text) ?? {}) as typeof config;
    } catch (err) {
      return [
        {
          verdict: "fail",
          subject,
          evidence: [`config.conf is not YAML: ${(err as Error).message}`],
          fix: "restore it: kubeadm init phase addon kube-proxy",
        },
      ];
    }
    // An empty mode is iptables on Linux.
    const mode = config.mode || "iptables";
    const strict = config.ipvs?.strictARP === true;
    const metallb = plan.addons.metallb.enabled || items(e, API_KEYS.ipAddressPool).length > 0;
    const modeLine = `config.conf: mode: ${config.mode === undefined || config.mode === "" ? `"" (iptables)` : config.mode}`;
    const findings: Finding[] = [];
    if (mode === "ipvs" && !strict && metallb)
      findings.push({
        verdict: "fail",
        subject,
        evidence: [
          modeLine,
          `config.conf: ipvs.strictARP: ${config.ipvs?.strictARP ?? "(unset, false)"}`,
          "with MetalLB L2, every node answers ARP for every LoadBalancer address (kube-ipvs0 holds them all)",
        ],
        fix: "set ipvs.strictARP: true in the ConfigMap and restart kube-proxy (kubectl -n kube-system rollout restart ds/kube-proxy); kubelab up does both before installing MetalLB",
      });
    if (mode !== plan.kubernetes.proxyMode)
      findings.push({
        verdict: "warn",
        subject,
        evidence: [modeLine, `the plan says proxyMode: ${plan.kubernetes.proxyMode}`],
        fix: `set kubernetes.proxyMode to ${mode} in the cluster file, or mode: ${plan.kubernetes.proxyMode} in the ConfigMap and restart kube-proxy`,
      });
    if (findings.length === 0)
      findings.push({
        verdict: "pass",
        subject,
        evidence: [
          mode === "ipvs" ? `${modeLine}, ipvs.strictARP: ${strict}` : `${modeLine} (strictARP only matters for ipvs)`,
        ],
      });
    return findings;
  },
};

export const kubeProxyChecks: readonly Check[] = [kubeProxyMode];
