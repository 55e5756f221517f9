/**
 * Checks of the host probe (src/doctor/probe.ts): for each LoadBalancer address, the first
 * step that fails on the way from this host to the application, in the order a person would
 * look with tcpdump and curl: no ARP reply; ARP answered but the TCP SYNs get no answer; TCP
 * open but HTTP fails.
 */
import type { Plan } from "../../plan/types.js";
import { API_KEYS } from "../api.js";
import { nameOf, str } from "../object.js";
import type { AddressProbe, Check, Evidence, Finding, PortProbe } from "../types.js";

/** The Service's externalTrafficPolicy when the API evidence has the Service. */
function trafficPolicy(e: Evidence, service: string): string | undefined {
  const svc = (e.api?.objects[API_KEYS.service] ?? []).find(
    (s) => `${str(s, "metadata", "namespace") ?? "default"}/${nameOf(s)}` === service,
  );
  return svc === undefined ? undefined : (str(svc, "spec", "externalTrafficPolicy") ?? "Cluster");
}

const portLine = (p: PortProbe): string => {
  const tcp =
    p.tcp === "unreachable"
      ? "unreachable (no ARP answer: the SYNs never left this host)"
      : p.tcp === "timeout"
        ? "no answer to the SYNs"
        : p.tcp === "refused"
          ? "refused (RST)"
          : p.tcp === "skipped"
            ? `not probed${p.protocol.toUpperCase() === "TCP" ? "" : ` (${p.protocol})`}`
            : "open";
  const http = p.http ? (p.http.status !== undefined ? `, HTTP ${p.http.status}` : `, ${p.http.error}`) : "";
  return `${p.port}/${p.protocol}: ${tcp}${http}`;
};

const who = (p: AddressProbe) =>
  `${p.arp.mac ?? "?"} (${p.arp.node ? `node ${p.arp.node}` : "no known node has that MAC: another machine holds the address?"})`;

/** `namespace/name` apart. */
const splitService = (service: string) => {
  const i = service.indexOf("/");
  return { n: service.slice(0, Math.max(i, 0)) || "default", s: service.slice(i + 1) };
};

function finding(e: Evidence, plan: Plan, p: AddressProbe): Finding {
  const subject = `Service ${p.service} ${p.address}`;
  const ports = p.ports.map(portLine);
  const { n, s } = splitService(p.service);

  if (p.skipped !== undefined) {
    if (p.interface === "")
      return {
        verdict: "fail",
        subject,
        evidence: [`not probed: ${p.skipped}`],
        fix: `this host must be on the lab network: network.cidr in kubelab.yaml (${plan.network.cidr}) must be the network the nodes use, with this host at ${plan.network.gateway} on it (VirtualBox: the host-only adapter, e.g. vboxnet0); bring the lab up (kubelab up)`,
      };
    return {
      verdict: "fail",
      subject,
      evidence: [`not probed: ${p.skipped}`],
      fix: `put the MetalLB pool inside the lab network: addons.metallb.pools in kubelab.yaml within network.cidr (${plan.network.cidr}), clear of node addresses and DHCP, then kubelab up; a Service that asks for an address (spec.loadBalancerIP, annotation metallb.io/loadBalancerIPs) must ask for one in the pool`,
    };
  }

  if (!p.arp.answered)
    return {
      verdict: "fail",
      subject,
      evidence: [
        `no ARP reply for ${p.address} on ${p.interface}: no node announces it (speaker not running on a node? address outside the pool? VirtualBox promiscuous mode off?)`,
        ...ports,
      ],
      fix: `check that a MetalLB speaker is Running on every node (kubectl -n metallb-system get pods -l component=speaker -o wide) and not excluded from the node (label node.kubernetes.io/exclude-from-external-load-balancers); that ${p.address} is in an IPAddressPool named by an L2Advertisement (kubelab makes both from addons.metallb.pools in kubelab.yaml; deprecated AddressPool objects are ignored); with VirtualBox, set the host-only NIC's promiscuous mode to allow-all (VBoxManage modifyvm NODE --nicpromisc2 allow-all, VM powered off)`,
    };

  const silent = p.ports.filter((x) => x.tcp === "timeout");
  if (silent.length > 0) {
    const policy = trafficPolicy(e, p.service);
    const ipvs = plan.kubernetes.proxyMode === "ipvs";
    const local = `set spec.externalTrafficPolicy: Cluster on Service ${p.service} (kubectl -n ${n} patch service ${s} -p '{"spec":{"externalTrafficPolicy":"Cluster"}}'), or keep Local and run a ready pod of it on ${p.arp.node ? `node ${p.arp.node}` : "the announcing node"}`;
    const arp = ipvs
      ? "kube-proxy runs in IPVS mode: set kubernetes.strictARP: true in kubelab.yaml (or proxyMode: iptables) and kubelab up"
      : "if kube-proxy was switched to IPVS by hand, set strictARP: true in the kube-proxy ConfigMap (kubelab.yaml: kubernetes.proxyMode ipvs with strictARP: true)";
    return {
      verdict: "fail",
      subject,
      evidence: [
        `ARP answered by ${who(p)} but TCP SYNs to ${silent.map((x) => `${p.address}:${x.port}`).join(", ")} get no answer: with externalTrafficPolicy Local the announcing node has no ready endpoint; or kube-proxy in IPVS mode without strictARP`,
        ...ports,
        ...(policy ? [`Service ${p.service} has externalTrafficPolicy: ${policy}`] : []),
        ...(ipvs ? [`kubelab.yaml: kubernetes.proxyMode ipvs, strictARP ${plan.kubernetes.strictARP}`] : []),
      ],
      fix: policy === "Cluster" ? `${arp}; otherwise ${local}` : `${local}; ${arp}`,
    };
  }

  const refused = p.ports.filter((x) => x.tcp === "refused" || x.tcp === "unreachable");
  if (refused.length > 0)
    return {
      verdict: "fail",
      subject,
      evidence: [
        `ARP answered by ${who(p)} but TCP ${refused.map((x) => `${p.address}:${x.port}`).join(", ")} ${refused.every((x) => x.tcp === "refused") ? "is refused (RST)" : "is refused or unreachable"}: nothing serves the port there (kube-proxy rejects a Service port with no ready endpoint)`,
        ...ports,
      ],
      fix: `give Service ${p.service} ready endpoints (kubectl -n ${n} get endpointslices -l kubernetes.io/service-name=${s}: its selector must match Running, Ready pods) and a targetPort the pods listen on`,
    };

  const broken = p.ports.filter((x) => x.http?.error !== undefined);
  if (broken.length > 0)
    return {
      verdict: "fail",
      subject,
      evidence: [
        `TCP open but HTTP fails: ${broken.map((x) => `${p.address}:${x.port} ${x.http?.error}`).join("; ")}`,
        `ARP from ${who(p)}`,
        ...ports,
      ],
      fix: `Service ${p.service} port ${broken.map((x) => x.port).join(", ")} must reach a container port that speaks the same scheme: https on 443/8443 (a UI's LoadBalancer 443 -> its TLS port 8443), http on 80/8080; check spec.ports[].targetPort, and name the port http or https when it is on another number`,
    };

  const failing = p.ports.filter((x) => (x.http?.status ?? 0) >= 500);
  const webs = p.ports.filter((x) => x.http?.status !== undefined);
  const open = p.ports.filter((x) => x.tcp === "open");
  const summary = [
    `ARP from ${p.arp.node ? `node ${p.arp.node} (${p.arp.mac})` : `${p.arp.mac} (not matched to a node)`}`,
    open.length > 0 ? `TCP open on ${open.map((x) => x.port).join(", ")}` : "no TCP port to probe",
    ...[...new Set(webs.map((x) => x.http?.status))].map(
      (status) =>
        `HTTP ${status} on ${webs
          .filter((x) => x.http?.status === status)
          .map((x) => x.port)
          .join(", ")}`,
    ),
  ].join(", ");
  if (failing.length > 0)
    return {
      verdict: "warn",
      subject,
      evidence: [
        `the network path works but the application answers ${failing.map((x) => `HTTP ${x.http?.status} on ${x.port}`).join(", ")}`,
        summary,
        ...ports,
      ],
      fix: `look at the logs of Service ${p.service}'s pods (kubectl -n ${n} logs -l <the Service's selector>)`,
    };
  return { verdict: "pass", subject, evidence: [summary, ...ports] };
}

export const probeChecks: readonly Check[] = [
  {
    id: "probe.loadbalancer",
    title: "every LoadBalancer address answers from this host: ARP, then TCP, then HTTP(S)",
    needs: ["probes"],
    references: [
      "metallb/metallb#1777",
      "metallb/metallb#258",
      "metallb/metallb#153",
      "metallb/metallb#253",
      "metallb/metallb#535",
    ],
    run(e, plan) {
      return (e.probes ?? []).map((p) => finding(e, plan, p));
    },
  },
];
