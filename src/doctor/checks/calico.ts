/**
 * Checks of Calico as the API shows it: calico-node crash-looping because felix cannot resolve
 * the name localhost for its health endpoint, and the address Calico detected for each node
 * (written into the Node's annotations) landing on the NAT network instead of the lab network.
 */
import { parseCidr } from "../../net/ipv4.js";
import { CALICO_NODE, calicoNodeEnv } from "../../render/calico.js";
import type { KubeObject } from "../../render/types.js";
import { API_KEYS, isCalicoNodePod, restartCount } from "../api.js";
import { annotationsOf, nameOf, objects, refOf, str } from "../object.js";
import type { Check, Evidence, Finding } from "../types.js";
import { bareIp, heldByMany, inRange, items, json, NAT } from "./common.js";
import { lastTerminated } from "./pod-status.js";

/** calicoDaemonSet is the calico-node DaemonSet (the one with containers), if the API has it. */
export const calicoDaemonSet = (e: Evidence) =>
  items(e, API_KEYS.daemonSet).find(
    (d) => nameOf(d) === CALICO_NODE && objects(d, "spec", "template", "spec", "containers").length > 0,
  );

/** calico-node's env as the live DaemonSet has it (undefined without the DaemonSet). */
function liveCalicoEnv(e: Evidence) {
  const ds = calicoDaemonSet(e);
  if (!ds) return undefined;
  try {
    return calicoNodeEnv([ds as unknown as KubeObject]);
  } catch {
    return undefined;
  }
}

/** The Node annotations where calico-node writes the address it detected and its tunnel addresses. */
const CALICO_ANNOTATIONS = {
  address: "projectcalico.org/IPv4Address",
  tunnels: [
    "projectcalico.org/IPv4IPIPTunnelAddr",
    "projectcalico.org/IPv4VXLANTunnelAddr",
    "projectcalico.org/IPv4WireguardInterfaceAddr",
  ],
} as const;

/** felix's line when its health endpoint cannot bind the *name* localhost (calico#6963, node#1360). */
export const FELIX_HEALTH_LOCALHOST =
  /Health endpoint failed, trying to restart it\.\.\. error=listen tcp: lookup localhost\b/;

/** calico.felix-health-localhost: calico-node restarts caused by felix's health endpoint. */
const felixHealth: Check = {
  id: "calico.felix-health-localhost",
  title: "calico-node does not crash-loop on felix's health endpoint (FELIX_HEALTHHOST=127.0.0.1)",
  needs: ["api"],
  references: ["projectcalico/calico#6963", "projectcalico/node#1360"],
  run(e, plan) {
    const env = liveCalicoEnv(e);
    const pods = items(e, API_KEYS.pod).filter(isCalicoNodePod);
    if (plan.addons.cni.plugin !== "calico" && !env && pods.length === 0) return [];
    const logs = e.api?.logs ?? {};
    const healthHost = env?.find((v) => v.name === "FELIX_HEALTHHOST");
    const setting = !env
      ? undefined
      : healthHost
        ? `DaemonSet calico-node: FELIX_HEALTHHOST=${healthHost.value ?? json(healthHost.valueFrom)}`
        : "DaemonSet calico-node: no FELIX_HEALTHHOST (felix binds its health endpoint to the name localhost)";
    const settingOk = healthHost?.value === "127.0.0.1";
    const fix =
      "set FELIX_HEALTHHOST=127.0.0.1 in the calico-node container (kubelab renders it: kubelab up --force-conflicts takes the DaemonSet back; by hand: kubectl -n kube-system set env ds/calico-node FELIX_HEALTHHOST=127.0.0.1) and keep `127.0.0.1 localhost` in every node's /etc/hosts";
    let crashed = false;
    const findings: Finding[] = pods.map((pod) => {
      const restarts = restartCount(pod, CALICO_NODE);
      const key = `${refOf(pod)}/${CALICO_NODE}`;
      const where = [key, `${key}#previous`].filter((k) => logs[k] !== undefined);
      const hits = where.flatMap((k) =>
        (logs[k] ?? "")
          .split("\n")
          .filter((l) => FELIX_HEALTH_LOCALHOST.test(l))
          .map((l) => ({ k, l: l.trim() })),
      );
      const node = str(pod, "spec", "nodeName");
      const subject = `Pod ${refOf(pod)}${node ? ` on ${node}` : ""}`;
      const status = objects(pod, "status", "containerStatuses").find((c) => c.name === CALICO_NODE);
      const waiting = str(status, "state", "waiting", "reason");
      const state = [`calico-node restartCount ${restarts}`, waiting && `waiting: ${waiting}`, lastTerminated(status)]
        .filter(Boolean)
        .join(", ");
      if (hits.length > 0) {
        crashed = true;
        const first = hits[0] as { k: string; l: string };
        return {
          verdict: "fail",
          subject,
          evidence: [
            state,
            `${first.k}: ${first.l}`,
            ...(hits.length > 1
              ? [`(${hits.length} such lines in ${[...new Set(hits.map((h) => h.k))].join(" and ")})`]
              : []),
            ...(setting ? [setting] : []),
          ],
          fix,
        };
      }
      if (restarts === 0) return { verdict: "pass", subject, evidence: [state] };
      if (where.length > 0)
        return {
          verdict: "pass",
          subject,
          evidence: [
            state,
            `no "Health endpoint failed ... lookup localhost" line in ${where.join(" or ")}: restarted for another reason`,
          ],
        };
      return {
        verdict: settingOk ? "pass" : "warn",
        subject,
        evidence: [
          state,
          "its logs could not be read",
          ...(setting ? [setting] : []),
          ...(settingOk ? ["felix binds 127.0.0.1, so the restarts have another cause"] : []),
        ],
        ...(settingOk ? {} : { fix }),
      };
    });
    if (!env)
      findings.push({
        verdict: "warn",
        subject: "DaemonSet kube-system/calico-node",
        evidence: ["no DaemonSet calico-node with a calico-node container in the API"],
        fix: "run kubelab up: it installs Calico with FELIX_HEALTHHOST=127.0.0.1 rendered in",
      });
    else
      findings.push({
        verdict: settingOk ? "pass" : crashed ? "fail" : "warn",
        subject: `DaemonSet ${refOf(calicoDaemonSet(e))}`,
        evidence: [
          setting as string,
          ...(settingOk
            ? []
            : [
                "felix resolves the name through the node's resolver; a resolver that does not answer for localhost (8.8.8.8) makes its liveness fail",
              ]),
        ],
        ...(settingOk ? {} : { fix }),
      });
    return findings;
  },
};

/** calico.node-address: the address calico-node detected for each node. */
const calicoAddress: Check = {
  id: "calico.node-address",
  title: "Calico detected each node's lab-network address (not the NAT address)",
  needs: ["api"],
  references: ["k0sproject/k0sctl#172", "alexellis/k3sup#306"],
  run(e, plan) {
    if (plan.addons.cni.plugin !== "calico") return [];
    const lab = plan.network.block;
    const pods = parseCidr(plan.kubernetes.podSubnet);
    const nodes = items(e, API_KEYS.node);
    const env = liveCalicoEnv(e);
    const method = env?.find((v) => v.name === "IP_AUTODETECTION_METHOD");
    const names = (env ?? []).map((v) => v.name);
    const methodLine = env
      ? `DaemonSet calico-node: IP_AUTODETECTION_METHOD=${method?.value ?? "(unset: first-found, the NAT NIC on Vagrant)"}`
      : undefined;
    const calicoFix = `set IP_AUTODETECTION_METHOD=${plan.addons.cni.ipAutodetectionMethod} in calico-node (kubelab renders it; kubelab up --force-conflicts takes the DaemonSet back), fix the node's InternalIP first if api.node-addresses fails (can-reach=$(NODEIP) follows it), then kubectl -n kube-system rollout restart ds/calico-node so each node detects its address again`;
    const dup = heldByMany(
      nodes.flatMap((n) => {
        const a = annotationsOf(n)[CALICO_ANNOTATIONS.address];
        return a ? [[nameOf(n), bareIp(a)] as const] : [];
      }),
    );
    const findings: Finding[] = nodes.map((n) => {
      const name = nameOf(n);
      const a = annotationsOf(n);
      const addr = a[CALICO_ANNOTATIONS.address];
      const planned = plan.nodes.find((p) => p.name === name);
      if (addr === undefined)
        return {
          verdict: "warn",
          subject: name,
          evidence: [
            `no ${CALICO_ANNOTATIONS.address} annotation: calico-node has not registered this node's address yet`,
          ],
          fix: `look at calico-node on ${name}: kubectl -n kube-system logs -l k8s-app=calico-node --field-selector spec.nodeName=${name}`,
        };
      const ip = bareIp(addr);
      const tunnels = CALICO_ANNOTATIONS.tunnels
        .filter((k) => a[k] !== undefined)
        .map((k) => [k, a[k] as string] as const);
      const problems = [
        inRange(NAT, ip) &&
          `the address is in VirtualBox's NAT network 10.0.2.0/24: BGP/IPIP/VXLAN peers would point at 10.0.2.x`,
        !inRange(lab, ip) && !inRange(NAT, ip) && `the address is outside the lab network ${plan.network.cidr}`,
        dup.has(ip) && `the same address as ${(dup.get(ip) ?? []).filter((x) => x !== name).join(", ")}`,
        planned && planned.ip !== ip && `the plan's address for ${name} is ${planned.ip}`,
        // Tunnel addresses come from Calico's IP pool (the pod subnet), never from a host network.
        ...tunnels
          .filter(([, v]) => inRange(NAT, bareIp(v)) || inRange(lab, bareIp(v)))
          .map(
            ([k, v]) => `${k}: ${v} is a host-network address, not one of the pod subnet ${plan.kubernetes.podSubnet}`,
          ),
      ].filter((p): p is string => typeof p === "string");
      const odd = tunnels.filter(
        ([, v]) => !inRange(pods, bareIp(v)) && !inRange(NAT, bareIp(v)) && !inRange(lab, bareIp(v)),
      );
      const quoted = [`${CALICO_ANNOTATIONS.address}: ${addr}`, ...tunnels.map(([k, v]) => `${k}: ${v}`)];
      if (problems.length > 0)
        return {
          verdict: "fail",
          subject: name,
          evidence: [...quoted, ...problems, ...(methodLine ? [methodLine] : [])],
          fix: calicoFix,
        };
      if (odd.length > 0)
        return {
          verdict: "warn",
          subject: name,
          evidence: [
            ...quoted,
            ...odd.map(([k, v]) => `${k}: ${v} is outside the pod subnet ${plan.kubernetes.podSubnet}`),
          ],
          fix: `Calico's IP pool should be the pod subnet: CALICO_IPV4POOL_CIDR=${plan.kubernetes.podSubnet} (kubelab renders it; it only applies when the default pool is first created)`,
        };
      return { verdict: "pass", subject: name, evidence: [`${quoted.join(", ")} (lab network ${plan.network.cidr})`] };
    });
    // $(NODEIP) only expands when NODEIP is defined earlier in the same env list.
    if (
      method?.value?.includes("$(NODEIP)") &&
      !(names.includes("NODEIP") && names.indexOf("NODEIP") < names.indexOf("IP_AUTODETECTION_METHOD"))
    )
      findings.push({
        verdict: "fail",
        subject: "DaemonSet kube-system/calico-node",
        evidence: [
          methodLine as string,
          names.includes("NODEIP")
            ? "NODEIP is defined after IP_AUTODETECTION_METHOD: Kubernetes leaves $(NODEIP) unexpanded"
            : "no NODEIP variable: Kubernetes leaves $(NODEIP) unexpanded",
        ],
        fix: "define NODEIP (fieldRef status.hostIP) before IP_AUTODETECTION_METHOD: kubelab up --force-conflicts renders both in that order",
      });
    else if (method?.value !== undefined && method.value !== plan.addons.cni.ipAutodetectionMethod)
      findings.push({
        verdict: "warn",
        subject: "DaemonSet kube-system/calico-node",
        evidence: [methodLine as string, `the plan says ${plan.addons.cni.ipAutodetectionMethod}`],
        fix: calicoFix,
      });
    return findings;
  },
};

export const calicoChecks: readonly Check[] = [felixHealth, calicoAddress];
