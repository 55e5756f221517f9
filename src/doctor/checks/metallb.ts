/**
 * Checks of MetalLB as the API shows it: configuration it no longer reads, pools nothing
 * announces, LoadBalancer Services left without an address (and the reason, from the objects),
 * `externalTrafficPolicy: Local` Services announced from a node without a ready endpoint, and
 * announcing nodes without a ready speaker.
 */
import { type Ipv4Range, parseRange, rangeSize } from "../../net/ipv4.js";
import type { Plan } from "../../plan/types.js";
import { METALLB_NAMESPACE } from "../../render/metallb.js";
import { API_KEYS } from "../api.js";
import {
  annotationsOf,
  at,
  type JsonObject,
  labelsOf,
  nameOf,
  namespaceOf,
  num,
  objects,
  refOf,
  str,
  stringMap,
  strings,
} from "../object.js";
import type { Check, Evidence, Finding } from "../types.js";
import { inRange, items, json, podReady, selects, some } from "./common.js";

/** Labels of the upstream manifest (app/component) or of the Helm chart (app.kubernetes.io/*). */
function isMetallb(o: JsonObject, component: "controller" | "speaker"): boolean {
  const l = labelsOf(o);
  return (
    (l.app === "metallb" && l.component === component) ||
    (l["app.kubernetes.io/name"] === "metallb" && l["app.kubernetes.io/component"] === component)
  );
}

interface MetallbState {
  readonly namespace: string;
  readonly controller?: JsonObject;
  readonly speaker?: JsonObject;
  readonly pools: readonly JsonObject[];
  readonly ads: readonly JsonObject[];
  /** Pools and advertisements outside MetalLB's namespace: MetalLB never reads them. */
  readonly elsewhere: readonly JsonObject[];
  readonly speakers: readonly JsonObject[];
}

function metallbState(e: Evidence): MetallbState {
  const controller = items(e, API_KEYS.deployment).find((d) => isMetallb(d, "controller"));
  const namespace = controller ? namespaceOf(controller) : METALLB_NAMESPACE;
  const pools = items(e, API_KEYS.ipAddressPool);
  const ads = items(e, API_KEYS.l2Advertisement);
  return {
    namespace,
    controller,
    speaker: items(e, API_KEYS.daemonSet).find((d) => isMetallb(d, "speaker")),
    pools: pools.filter((p) => namespaceOf(p) === namespace),
    ads: ads.filter((a) => namespaceOf(a) === namespace),
    elsewhere: [...pools, ...ads].filter((o) => namespaceOf(o) !== namespace),
    speakers: items(e, API_KEYS.pod).filter((p) => isMetallb(p, "speaker")),
  };
}

/**
 * Whether an L2Advertisement announces a pool: by name (ipAddressPools), by label
 * (ipAddressPoolSelectors), or every pool when it names none.
 */
function advertises(ad: JsonObject, pool: JsonObject): boolean {
  const names = strings(ad, "spec", "ipAddressPools");
  const selectors = objects(ad, "spec", "ipAddressPoolSelectors");
  if (names.length === 0 && selectors.length === 0) return true;
  return names.includes(nameOf(pool)) || selectors.some((s) => selects(s, labelsOf(pool)));
}

const describeAd = (ad: JsonObject) => {
  const names = strings(ad, "spec", "ipAddressPools");
  const selectors = objects(ad, "spec", "ipAddressPoolSelectors");
  const parts = [
    names.length > 0 && `ipAddressPools: ${json(names)}`,
    selectors.length > 0 && `ipAddressPoolSelectors: ${json(selectors)}`,
  ].filter(Boolean);
  return `L2Advertisement ${refOf(ad)} (${parts.length > 0 ? parts.join(", ") : "no pool named or selected: every pool"})`;
};

/** The IPv4 ranges of a pool's spec.addresses (IPv6 entries are not counted). */
const poolRanges = (pool: JsonObject) =>
  strings(pool, "spec", "addresses")
    .map((a) => parseRange(a.trim()))
    .filter((r): r is Ipv4Range => r !== undefined);

/** Addresses in [first, last] that are ≡ r (mod 256). */
const countMod = (r: Ipv4Range, k: number) => Math.floor((r.last - k) / 256) - Math.floor((r.first - 1 - k) / 256);

/** How many addresses a pool can hand out (avoidBuggyIPs skips .0 and .255). */
function poolSize(pool: JsonObject): number {
  const buggy = at(pool, "spec", "avoidBuggyIPs") === true;
  return poolRanges(pool).reduce((n, r) => n + rangeSize(r) - (buggy ? countMod(r, 0) + countMod(r, 255) : 0), 0);
}

const describePool = (pool: JsonObject) =>
  `IPAddressPool ${refOf(pool)} (${strings(pool, "spec", "addresses").join(", ")})`;

const isLoadBalancer = (svc: JsonObject) => str(svc, "spec", "type") === "LoadBalancer";
const ingressOf = (svc: JsonObject) =>
  objects(svc, "status", "loadBalancer", "ingress")
    .map((i) => str(i, "ip") ?? str(i, "hostname"))
    .filter((a): a is string => a !== undefined);

/** The Service's announcing node, from MetalLB's ServiceL2Status (v0.14+). */
function announcement(e: Evidence, svc: JsonObject): { status: JsonObject; node?: string } | undefined {
  const status = items(e, API_KEYS.serviceL2Status).find((s) => {
    const l = labelsOf(s);
    const name = str(s, "status", "serviceName") ?? l["metallb.io/service-name"];
    const namespace = str(s, "status", "serviceNamespace") ?? l["metallb.io/service-namespace"];
    return name === nameOf(svc) && namespace === namespaceOf(svc);
  });
  if (!status) return undefined;
  return { status, node: str(status, "status", "node") ?? labelsOf(status)["metallb.io/node"] };
}

const available = (deployment: JsonObject | undefined) => (num(deployment, "status", "availableReplicas") ?? 0) > 0;

const REQUESTED_POOL = ["metallb.io/address-pool", "metallb.universe.tf/address-pool"] as const;
const REQUESTED_IPS = ["metallb.io/loadBalancerIPs", "metallb.universe.tf/loadBalancerIPs"] as const;

interface Reason {
  readonly evidence: readonly string[];
  readonly fix: string;
}

/** Why a LoadBalancer Service has no address, from what the API shows. */
function whyPending(
  e: Evidence,
  plan: Plan,
  m: MetallbState,
  svc: JsonObject,
  services: readonly JsonObject[],
): Reason {
  const cls = str(svc, "spec", "loadBalancerClass");
  if (cls)
    return {
      evidence: [`spec.loadBalancerClass: ${cls}: MetalLB only serves Services without a class`],
      fix: "recreate the Service without spec.loadBalancerClass (the field cannot be changed), or run the load balancer that serves that class",
    };
  if (!m.controller && m.pools.length === 0)
    return {
      evidence: [
        `MetalLB is not installed: no MetalLB controller Deployment, no IPAddressPool${plan.addons.metallb.enabled ? "" : " (the cluster file has addons.metallb.enabled: false)"}`,
      ],
      fix: plan.addons.metallb.enabled
        ? "run kubelab up: it installs MetalLB and its pool"
        : "set addons.metallb.enabled: true (with pools in the lab network) in the cluster file and run kubelab up",
    };
  if (!available(m.controller)) {
    const pods = items(e, API_KEYS.pod).filter((p) => isMetallb(p, "controller"));
    const ctl = m.controller ? `Deployment ${refOf(m.controller)}` : "no MetalLB controller Deployment";
    return {
      evidence: [
        `${ctl}: ${num(m.controller, "status", "availableReplicas") ?? 0} of ${num(m.controller, "spec", "replicas") ?? 1} available: nothing assigns addresses`,
        ...pods.map(
          (p) => `Pod ${refOf(p)}: phase ${str(p, "status", "phase") ?? "?"}${podReady(p) ? ", Ready" : ", not Ready"}`,
        ),
      ],
      fix: m.controller
        ? `get MetalLB's controller running: kubectl -n ${m.namespace} describe pod -l component=controller (image pull, scheduling, the webhook certificate)`
        : "run kubelab up: it installs MetalLB's controller",
    };
  }
  if (m.pools.length === 0)
    return {
      evidence: [`no IPAddressPool in ${m.namespace}: MetalLB has no address to give`],
      fix: "run kubelab up: it creates IPAddressPool and L2Advertisement from addons.metallb.pools",
    };
  const annotations = annotationsOf(svc);
  const wantPool = REQUESTED_POOL.map((k) => annotations[k]).find((v) => v !== undefined);
  if (wantPool !== undefined && !m.pools.some((p) => nameOf(p) === wantPool))
    return {
      evidence: [`annotation address-pool: ${wantPool}, but there is no IPAddressPool ${m.namespace}/${wantPool}`],
      fix: `name an existing pool (${m.pools.map(nameOf).join(", ")}) in the annotation, or remove it`,
    };
  const requestedIp = str(svc, "spec", "loadBalancerIP");
  const wantIps = [
    ...(requestedIp ? [requestedIp] : []),
    ...(REQUESTED_IPS.map((k) => annotations[k]).find((v) => v !== undefined) ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  ];
  for (const ip of wantIps) {
    if (!m.pools.some((p) => poolRanges(p).some((r) => inRange(r, ip))))
      return {
        evidence: [`requests ${ip}, which is in no IPAddressPool (${m.pools.map(describePool).join("; ")})`],
        fix: `request an address inside a pool, or add ${ip} to a pool (addons.metallb.pools, then kubelab up)`,
      };
    const holder = services.find((s) => s !== svc && ingressOf(s).includes(ip));
    if (holder && !annotations["metallb.io/allow-shared-ip"] && !annotations["metallb.universe.tf/allow-shared-ip"])
      return {
        evidence: [`requests ${ip}, which Service ${refOf(holder)} already has`],
        fix: "request another address, or let both Services share it (the allow-shared-ip annotation, same key on both)",
      };
  }
  const candidates = m.pools.filter((p) =>
    wantPool !== undefined ? nameOf(p) === wantPool : at(p, "spec", "autoAssign") !== false,
  );
  if (candidates.length === 0)
    return {
      evidence: [`every IPAddressPool has spec.autoAssign: false: ${m.pools.map(nameOf).join(", ")}`],
      fix: "set autoAssign: true on a pool, or name one in the Service's metallb.io/address-pool annotation",
    };
  const usage = candidates.map((p) => {
    const used = new Set(services.flatMap(ingressOf).filter((ip) => poolRanges(p).some((r) => inRange(r, ip))));
    const availableIPv4 = num(p, "status", "availableIPv4");
    const full = availableIPv4 !== undefined ? availableIPv4 === 0 : used.size >= poolSize(p);
    return { pool: p, used, full, availableIPv4 };
  });
  if (usage.every((u) => u.full))
    return {
      evidence: usage.map(
        (u) =>
          `${describePool(u.pool)} is exhausted: ${poolSize(u.pool)} addresses, ${u.used.size} in use (${some([...u.used])})${u.availableIPv4 !== undefined ? `, status.availableIPv4: ${u.availableIPv4}` : ""}`,
      ),
      fix: "widen addons.metallb.pools (inside the lab network, off node addresses and DHCP) and run kubelab up, or delete LoadBalancer Services no longer needed",
    };
  return {
    evidence: ["no cause visible in the API objects (controller available, a pool with free addresses)"],
    fix: `read why in the controller's events and log: kubectl -n ${namespaceOf(svc)} describe service ${nameOf(svc)}; kubectl -n ${m.namespace} logs deploy/${m.controller ? nameOf(m.controller) : "controller"}`,
  };
}

/** Ready endpoints (conditions.ready unset counts as ready) of a Service, by node. */
function readyEndpoints(e: Evidence, svc: JsonObject): { node: string; address: string }[] {
  return items(e, API_KEYS.endpointSlice)
    .filter((s) => namespaceOf(s) === namespaceOf(svc) && labelsOf(s)["kubernetes.io/service-name"] === nameOf(svc))
    .flatMap((s) => objects(s, "endpoints"))
    .filter((ep) => at(ep, "conditions", "ready") !== false)
    .flatMap((ep) => strings(ep, "addresses").map((address) => ({ node: str(ep, "nodeName") ?? "?", address })));
}

/** metallb.deprecated-config: configuration MetalLB no longer reads. */
const deprecatedConfig: Check = {
  id: "metallb.deprecated-config",
  title: "no legacy MetalLB configuration (AddressPool objects, ConfigMap metallb-system/config)",
  needs: ["api"],
  references: ["metallb/metallb#2252"],
  run(e, plan) {
    const legacy = items(e, API_KEYS.addressPool);
    const cm = items(e, API_KEYS.configMap).find((c) => namespaceOf(c) === METALLB_NAMESPACE && nameOf(c) === "config");
    if (!plan.addons.metallb.enabled && legacy.length === 0 && !cm) return [];
    const findings: Finding[] = legacy.map((p) => ({
      verdict: "fail",
      subject: `AddressPool ${refOf(p)}`,
      evidence: [
        `metallb.io AddressPool ${refOf(p)}: protocol ${str(p, "spec", "protocol") ?? "?"}, addresses ${json(strings(p, "spec", "addresses"))}`,
        "AddressPool was deprecated in MetalLB v0.13 and is ignored since v0.14: its addresses are never assigned or announced",
      ],
      fix: `move its addresses to an IPAddressPool with an L2Advertisement naming it (kubelab up renders both from addons.metallb.pools), then kubectl -n ${namespaceOf(p)} delete addresspool ${nameOf(p)}`,
    }));
    if (cm) {
      const text = stringMap(cm, "data").config ?? "";
      const lines = text.split("\n").filter((l) => l.trim() !== "");
      findings.push({
        verdict: "fail",
        subject: `ConfigMap ${refOf(cm)}`,
        evidence: [
          `ConfigMap ${refOf(cm)} data.config:`,
          ...lines.slice(0, 8).map((l) => `  ${l}`),
          ...(lines.length > 8 ? [`  (${lines.length - 8} more lines)`] : []),
          "MetalLB reads no ConfigMap since v0.13: this configuration does nothing",
        ],
        fix: `express it as IPAddressPool + L2Advertisement (kubelab up renders them from addons.metallb.pools), then kubectl -n ${namespaceOf(cm)} delete configmap ${nameOf(cm)}`,
      });
    }
    return findings.length > 0
      ? findings
      : [{ verdict: "pass", evidence: [`no AddressPool objects, no ConfigMap ${METALLB_NAMESPACE}/config`] }];
  },
};

/** metallb.advertisement: a pool, and an L2Advertisement that announces it. */
const advertisement: Check = {
  id: "metallb.advertisement",
  title: "MetalLB has an IPAddressPool and an L2Advertisement that announces it",
  needs: ["api"],
  references: [],
  run(e, plan) {
    if (!plan.addons.metallb.enabled) return [];
    const m = metallbState(e);
    const fix = `run kubelab up: it creates IPAddressPool and L2Advertisement kubelab-${plan.name} in ${m.namespace} (the advertisement names the pool)`;
    const findings: Finding[] = m.elsewhere.map((o) => ({
      verdict: "fail",
      subject: `${String(o.kind)} ${refOf(o)}`,
      evidence: [`${String(o.kind)} ${refOf(o)} is outside ${m.namespace}: MetalLB only reads its own namespace`],
      fix: `recreate it in ${m.namespace}`,
    }));
    if (m.pools.length === 0)
      findings.push({
        verdict: "fail",
        evidence: [`no IPAddressPool in ${m.namespace}: no address can be assigned`],
        fix,
      });
    if (m.ads.length === 0)
      findings.push({
        verdict: "fail",
        evidence: [
          `no L2Advertisement in ${m.namespace}: addresses are assigned but no node answers ARP for them`,
          ...m.pools.map(describePool),
        ],
        fix,
      });
    if (m.ads.length > 0) {
      for (const pool of m.pools) {
        const by = m.ads.filter((a) => advertises(a, pool));
        findings.push(
          by.length > 0
            ? {
                verdict: "pass",
                subject: `IPAddressPool ${refOf(pool)}`,
                evidence: [`${describePool(pool)} announced by ${by.map(describeAd).join("; ")}`],
              }
            : {
                verdict: "fail",
                subject: `IPAddressPool ${refOf(pool)}`,
                evidence: [
                  `${describePool(pool)} is announced by no L2Advertisement: its addresses are assigned but nothing answers ARP`,
                  ...m.ads.map(describeAd),
                ],
                fix: `name the pool in an L2Advertisement's spec.ipAddressPools (kubelab's names kubelab-${plan.name}), or select it by label`,
              },
        );
      }
      for (const ad of m.ads)
        if (m.pools.length > 0 && !m.pools.some((p) => advertises(ad, p)))
          findings.push({
            verdict: "warn",
            subject: `L2Advertisement ${refOf(ad)}`,
            evidence: [`${describeAd(ad)} matches no IPAddressPool (${m.pools.map(nameOf).join(", ")})`],
            fix: "name an existing pool, or delete the advertisement",
          });
    }
    return findings;
  },
};

/** metallb.pending-services: LoadBalancer Services without an address, and why. */
const pendingServices: Check = {
  id: "metallb.pending-services",
  title: "every LoadBalancer Service has an address",
  needs: ["api"],
  references: [],
  run(e, plan) {
    const services = items(e, API_KEYS.service).filter(isLoadBalancer);
    if (services.length === 0)
      return plan.addons.metallb.enabled ? [{ verdict: "pass", evidence: ["no Service of type LoadBalancer"] }] : [];
    const m = metallbState(e);
    return services.map((svc): Finding => {
      const subject = `Service ${refOf(svc)}`;
      const ingress = ingressOf(svc);
      if (ingress.length > 0)
        return { verdict: "pass", subject, evidence: [`status.loadBalancer.ingress: ${ingress.join(", ")}`] };
      const why = whyPending(e, plan, m, svc, services);
      return {
        verdict: "fail",
        subject,
        evidence: ["type LoadBalancer, no status.loadBalancer.ingress (pending)", ...why.evidence],
        fix: why.fix,
      };
    });
  },
};

/** metallb.local-traffic-policy: Local Services announced from a node without an endpoint. */
const localTrafficPolicy: Check = {
  id: "metallb.local-traffic-policy",
  title: "externalTrafficPolicy: Local Services have a ready endpoint on the node announcing them",
  needs: ["api"],
  references: ["metallb/metallb#1777", "metallb/metallb#258"],
  run(e, plan) {
    const services = items(e, API_KEYS.service).filter(isLoadBalancer);
    if (services.length === 0 && !plan.addons.metallb.enabled) return [];
    // Services of another load balancer (a loadBalancerClass) are not MetalLB's to announce.
    const local = services.filter(
      (s) =>
        str(s, "spec", "externalTrafficPolicy") === "Local" &&
        ingressOf(s).length > 0 &&
        !str(s, "spec", "loadBalancerClass"),
    );
    if (local.length === 0)
      return [
        { verdict: "pass", evidence: ["no LoadBalancer Service with an address uses externalTrafficPolicy: Local"] },
      ];
    const fix = (svc: JsonObject) =>
      `kubectl -n ${namespaceOf(svc)} patch service ${nameOf(svc)} -p '{"spec":{"externalTrafficPolicy":"Cluster"}}' (kubelab's UI Service uses Cluster); keep Local only with a ready pod on every node that may announce (a DaemonSet) or an L2Advertisement nodeSelectors limited to those nodes`;
    return local.map((svc): Finding => {
      const subject = `Service ${refOf(svc)}`;
      const ready = readyEndpoints(e, svc);
      const readyLine =
        ready.length > 0
          ? `ready endpoints: ${some(ready.map((r) => `${r.address} on ${r.node}`))}`
          : "no ready endpoint (EndpointSlices) on any node";
      const head = `externalTrafficPolicy: Local, address ${ingressOf(svc).join(", ")}`;
      const ann = announcement(e, svc);
      if (ready.length === 0)
        return {
          verdict: "fail",
          subject,
          evidence: [head, readyLine, "with Local no node forwards it: TCP SYNs go unanswered"],
          fix: fix(svc),
        };
      if (!ann?.node)
        return {
          verdict: "warn",
          subject,
          evidence: [head, readyLine, "no ServiceL2Status names the announcing node (no speaker announces it)"],
          fix: "see metallb.speaker-on-node; with Local only a node with a ready endpoint should announce",
        };
      const announced = `announced from ${ann.node} (ServiceL2Status ${refOf(ann.status)})`;
      if (!ready.some((r) => r.node === ann.node))
        return {
          verdict: "fail",
          subject,
          evidence: [
            head,
            announced,
            readyLine,
            `${ann.node} has no ready endpoint: ARP is answered there, then kube-proxy drops the SYNs`,
          ],
          fix: fix(svc),
        };
      return { verdict: "pass", subject, evidence: [head, announced, readyLine] };
    });
  },
};

/** metallb.speaker-on-node: a ready speaker where each address is announced. */
const speakerOnNode: Check = {
  id: "metallb.speaker-on-node",
  title: "a ready MetalLB speaker runs on the node announcing each LoadBalancer address",
  needs: ["api"],
  references: [],
  run(e, plan) {
    if (!plan.addons.metallb.enabled) return [];
    const m = metallbState(e);
    const readyOn = new Set(m.speakers.filter(podReady).map((p) => str(p, "spec", "nodeName") ?? "?"));
    const speakersLine =
      m.speakers.length > 0
        ? `speaker pods: ${m.speakers.map((p) => `${nameOf(p)} on ${str(p, "spec", "nodeName") ?? "(unscheduled)"} ${podReady(p) ? "Ready" : "not Ready"}`).join(", ")}`
        : `no speaker pod in ${m.namespace}`;
    const dsLine = m.speaker
      ? `DaemonSet ${refOf(m.speaker)}: ${num(m.speaker, "status", "numberReady") ?? 0} of ${num(m.speaker, "status", "desiredNumberScheduled") ?? 0} ready`
      : "no MetalLB speaker DaemonSet";
    const fixFor = (node: string) =>
      `get the speaker running on ${node}: kubectl -n ${m.namespace} get pods -l component=speaker -o wide, then describe the one on ${node} (taints vs the DaemonSet's tolerations, memberlist port 7946 between nodes); kubelab up installs MetalLB if it is missing`;
    const services = items(e, API_KEYS.service).filter(
      (s) => isLoadBalancer(s) && ingressOf(s).length > 0 && !str(s, "spec", "loadBalancerClass"),
    );
    if (services.length === 0)
      return [
        {
          verdict: readyOn.size > 0 ? "pass" : "warn",
          evidence: ["no LoadBalancer address to announce", dsLine, speakersLine],
          ...(readyOn.size > 0 ? {} : { fix: "run kubelab up: it installs MetalLB's speaker on every node" }),
        },
      ];
    return services.map((svc): Finding => {
      const subject = `Service ${refOf(svc)}`;
      const head = `address ${ingressOf(svc).join(", ")}`;
      const ann = announcement(e, svc);
      if (!ann?.node) {
        const none = readyOn.size === 0;
        return {
          verdict: none ? "fail" : "warn",
          subject,
          evidence: [
            head,
            `no ServiceL2Status for it: no speaker announces the address${none ? " and no speaker is ready on any node" : ""}`,
            dsLine,
            speakersLine,
          ],
          fix: none
            ? m.speaker
              ? `get MetalLB's speakers running (one per node): kubectl -n ${m.namespace} get pods -l component=speaker -o wide, then describe those not Ready`
              : "run kubelab up: it installs MetalLB's speaker on every node"
            : `check that an L2Advertisement announces its pool (metallb.advertisement) and read the speakers' logs: kubectl -n ${m.namespace} logs -l component=speaker`,
        };
      }
      const line = `announced from ${ann.node} (ServiceL2Status ${refOf(ann.status)})`;
      if (!readyOn.has(ann.node))
        return {
          verdict: "fail",
          subject,
          evidence: [
            head,
            line,
            `no ready speaker on ${ann.node}: nothing answers ARP for the address there`,
            dsLine,
            speakersLine,
          ],
          fix: fixFor(ann.node),
        };
      return { verdict: "pass", subject, evidence: [head, line, `speaker Ready on ${ann.node}`] };
    });
  },
};

export const metallbChecks: readonly Check[] = [
  deprecatedConfig,
  advertisement,
  pendingServices,
  localTrafficPolicy,
  speakerOnNode,
];
