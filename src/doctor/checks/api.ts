/**
 * Checks of what the API says (ApiEvidence, collected by src/doctor/api.ts): the lab's known
 * failures as the cluster shows them, each finding quoting the objects, fields and log lines it
 * rests on, with the change that fixes it.
 */
import { parse } from "yaml";
import { ISSUER_RENEW_DAYS } from "../../addons/linkerd.js";
import { issuerNotAfter } from "../../addons/linkerd-identity.js";
import { containsAddress, type Ipv4Range, parseCidr, parseIpv4, parseRange, rangeSize } from "../../net/ipv4.js";
import type { Plan } from "../../plan/types.js";
import { CALICO_NODE, calicoNodeEnv } from "../../render/calico.js";
import { METALLB_NAMESPACE } from "../../render/metallb.js";
import type { KubeObject } from "../../render/types.js";
import { API_KEYS, ISSUER_CERT_KEYS, isCalicoNodePod, LINKERD_ISSUER, restartCount } from "../api.js";
import type { Check, Evidence, Finding } from "../types.js";

// ---------------------------------------------------------------------------------------------
// Reading raw objects

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function at(o: unknown, ...keys: string[]): unknown {
  let cur = o;
  for (const k of keys) cur = isObj(cur) ? cur[k] : undefined;
  return cur;
}
const str = (o: unknown, ...keys: string[]) => {
  const v = at(o, ...keys);
  return typeof v === "string" ? v : undefined;
};
const num = (o: unknown, ...keys: string[]) => {
  const v = at(o, ...keys);
  return typeof v === "number" ? v : undefined;
};
const list = (o: unknown, ...keys: string[]): Obj[] => {
  const v = at(o, ...keys);
  return Array.isArray(v) ? v.filter(isObj) : [];
};
const strings = (o: unknown, ...keys: string[]): string[] => {
  const v = at(o, ...keys);
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
};
const record = (o: unknown, ...keys: string[]): Record<string, string> => {
  const v = at(o, ...keys);
  return isObj(v)
    ? (Object.fromEntries(Object.entries(v).filter(([, s]) => typeof s === "string")) as Record<string, string>)
    : {};
};
const nameOf = (o: Obj) => str(o, "metadata", "name") ?? "?";
const nsOf = (o: Obj) => str(o, "metadata", "namespace") ?? "";
const refOf = (o: Obj) => (nsOf(o) ? `${nsOf(o)}/${nameOf(o)}` : nameOf(o));
const labelsOf = (o: Obj) => record(o, "metadata", "labels");
const annotationsOf = (o: Obj) => record(o, "metadata", "annotations");
const items = (e: Evidence, key: string): Obj[] => (e.api?.objects[key] ?? []) as Obj[];
const json = (v: unknown) => JSON.stringify(v);

/** Up to `n` entries, then how many more. */
function some(values: readonly string[], n = 5): string {
  return values.length <= n ? values.join(", ") : `${values.slice(0, n).join(", ")} and ${values.length - n} more`;
}

const NAT = parseCidr("10.0.2.0/24") as Ipv4Range;
const inRange = (r: Ipv4Range | undefined, ip: string | undefined) =>
  r !== undefined && ip !== undefined && containsAddress(r, ip);
/** `192.168.56.11/24` -> `192.168.56.11`. */
const bareIp = (v: string) => v.split("/")[0] ?? v;

const podReady = (pod: Obj) => list(pod, "status", "conditions").some((c) => c.type === "Ready" && c.status === "True");

// ---------------------------------------------------------------------------------------------
// Nodes and Calico

function internalIps(node: Obj): string[] {
  return list(node, "status", "addresses")
    .filter((a) => a.type === "InternalIP" && typeof a.address === "string")
    .map((a) => a.address as string);
}

const describeAddresses = (node: Obj) =>
  `status.addresses: ${
    list(node, "status", "addresses")
      .map((a) => `${String(a.type)}=${String(a.address)}`)
      .join(", ") || "(none)"
  }`;

/** Node names by address, for addresses that more than one node has. */
function shared(pairs: readonly (readonly [string, string])[]): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const [node, ip] of pairs) by.set(ip, [...(by.get(ip) ?? []), node]);
  return new Map([...by].filter(([, nodes]) => new Set(nodes).size > 1));
}

const calicoDaemonSet = (e: Evidence) =>
  items(e, API_KEYS.daemonSet).find(
    (d) => nameOf(d) === CALICO_NODE && list(d, "spec", "template", "spec", "containers").length > 0,
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

// ---------------------------------------------------------------------------------------------
// MetalLB

/** Labels of the upstream manifest (app/component) or of the Helm chart (app.kubernetes.io/*). */
function isMetallb(o: Obj, component: "controller" | "speaker"): boolean {
  const l = labelsOf(o);
  return (
    (l.app === "metallb" && l.component === component) ||
    (l["app.kubernetes.io/name"] === "metallb" && l["app.kubernetes.io/component"] === component)
  );
}

interface MetallbState {
  readonly namespace: string;
  readonly controller?: Obj;
  readonly speaker?: Obj;
  readonly pools: readonly Obj[];
  readonly ads: readonly Obj[];
  /** Pools and advertisements outside MetalLB's namespace: MetalLB never reads them. */
  readonly elsewhere: readonly Obj[];
  readonly speakers: readonly Obj[];
}

function metallbState(e: Evidence): MetallbState {
  const controller = items(e, API_KEYS.deployment).find((d) => isMetallb(d, "controller"));
  const namespace = controller ? nsOf(controller) : METALLB_NAMESPACE;
  const pools = items(e, API_KEYS.ipAddressPool);
  const ads = items(e, API_KEYS.l2Advertisement);
  return {
    namespace,
    controller,
    speaker: items(e, API_KEYS.daemonSet).find((d) => isMetallb(d, "speaker")),
    pools: pools.filter((p) => nsOf(p) === namespace),
    ads: ads.filter((a) => nsOf(a) === namespace),
    elsewhere: [...pools, ...ads].filter((o) => nsOf(o) !== namespace),
    speakers: items(e, API_KEYS.pod).filter((p) => isMetallb(p, "speaker")),
  };
}

/** metav1.LabelSelector semantics (matchLabels and matchExpressions). */
function selects(selector: Obj, labels: Readonly<Record<string, string>>): boolean {
  const matchLabels = record(selector, "matchLabels");
  if (!Object.entries(matchLabels).every(([k, v]) => labels[k] === v)) return false;
  return list(selector, "matchExpressions").every((x) => {
    const key = String(x.key);
    const values = strings(x, "values");
    switch (x.operator) {
      case "In":
        return key in labels && values.includes(labels[key] as string);
      case "NotIn":
        return !(key in labels) || !values.includes(labels[key] as string);
      case "Exists":
        return key in labels;
      case "DoesNotExist":
        return !(key in labels);
      default:
        return false;
    }
  });
}

/**
 * Whether an L2Advertisement announces a pool: by name (ipAddressPools), by label
 * (ipAddressPoolSelectors), or every pool when it names none.
 */
function advertises(ad: Obj, pool: Obj): boolean {
  const names = strings(ad, "spec", "ipAddressPools");
  const selectors = list(ad, "spec", "ipAddressPoolSelectors");
  if (names.length === 0 && selectors.length === 0) return true;
  return names.includes(nameOf(pool)) || selectors.some((s) => selects(s, labelsOf(pool)));
}

const describeAd = (ad: Obj) => {
  const names = strings(ad, "spec", "ipAddressPools");
  const selectors = list(ad, "spec", "ipAddressPoolSelectors");
  const parts = [
    names.length > 0 && `ipAddressPools: ${json(names)}`,
    selectors.length > 0 && `ipAddressPoolSelectors: ${json(selectors)}`,
  ].filter(Boolean);
  return `L2Advertisement ${refOf(ad)} (${parts.length > 0 ? parts.join(", ") : "no pool named or selected: every pool"})`;
};

/** The IPv4 ranges of a pool's spec.addresses (IPv6 entries are not counted). */
const poolRanges = (pool: Obj) =>
  strings(pool, "spec", "addresses")
    .map((a) => parseRange(a.trim()))
    .filter((r): r is Ipv4Range => r !== undefined);

/** Addresses in [first, last] that are ≡ r (mod 256). */
const countMod = (r: Ipv4Range, k: number) => Math.floor((r.last - k) / 256) - Math.floor((r.first - 1 - k) / 256);

/** How many addresses a pool can hand out (avoidBuggyIPs skips .0 and .255). */
function poolSize(pool: Obj): number {
  const buggy = at(pool, "spec", "avoidBuggyIPs") === true;
  return poolRanges(pool).reduce((n, r) => n + rangeSize(r) - (buggy ? countMod(r, 0) + countMod(r, 255) : 0), 0);
}

const describePool = (pool: Obj) => `IPAddressPool ${refOf(pool)} (${strings(pool, "spec", "addresses").join(", ")})`;

const isLoadBalancer = (svc: Obj) => str(svc, "spec", "type") === "LoadBalancer";
const ingressOf = (svc: Obj) =>
  list(svc, "status", "loadBalancer", "ingress")
    .map((i) => str(i, "ip") ?? str(i, "hostname"))
    .filter((a): a is string => a !== undefined);

/** The Service's announcing node, from MetalLB's ServiceL2Status (v0.14+). */
function announcement(e: Evidence, svc: Obj): { status: Obj; node?: string } | undefined {
  const status = items(e, API_KEYS.serviceL2Status).find((s) => {
    const l = labelsOf(s);
    const name = str(s, "status", "serviceName") ?? l["metallb.io/service-name"];
    const namespace = str(s, "status", "serviceNamespace") ?? l["metallb.io/service-namespace"];
    return name === nameOf(svc) && namespace === nsOf(svc);
  });
  if (!status) return undefined;
  return { status, node: str(status, "status", "node") ?? labelsOf(status)["metallb.io/node"] };
}

const available = (deployment: Obj | undefined) => (num(deployment, "status", "availableReplicas") ?? 0) > 0;

const REQUESTED_POOL = ["metallb.io/address-pool", "metallb.universe.tf/address-pool"] as const;
const REQUESTED_IPS = ["metallb.io/loadBalancerIPs", "metallb.universe.tf/loadBalancerIPs"] as const;

interface Reason {
  readonly evidence: readonly string[];
  readonly fix: string;
}

/** Why a LoadBalancer Service has no address, from what the API shows. */
function whyPending(e: Evidence, plan: Plan, m: MetallbState, svc: Obj, services: readonly Obj[]): Reason {
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
  const wantIps = [
    ...(str(svc, "spec", "loadBalancerIP") ? [str(svc, "spec", "loadBalancerIP") as string] : []),
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
    fix: `read why in the controller's events and log: kubectl -n ${nsOf(svc)} describe service ${nameOf(svc)}; kubectl -n ${m.namespace} logs deploy/${m.controller ? nameOf(m.controller) : "controller"}`,
  };
}

/** Ready endpoints (conditions.ready unset counts as ready) of a Service, by node. */
function readyEndpoints(e: Evidence, svc: Obj): { node: string; address: string }[] {
  return items(e, API_KEYS.endpointSlice)
    .filter((s) => nsOf(s) === nsOf(svc) && labelsOf(s)["kubernetes.io/service-name"] === nameOf(svc))
    .flatMap((s) => list(s, "endpoints"))
    .filter((ep) => at(ep, "conditions", "ready") !== false)
    .flatMap((ep) => strings(ep, "addresses").map((address) => ({ node: str(ep, "nodeName") ?? "?", address })));
}

// ---------------------------------------------------------------------------------------------
// The checks

const nodeAddresses: Check = {
  id: "api.node-addresses",
  title: "every node's InternalIP is its own lab-network address (not the NAT address)",
  needs: ["api"],
  references: ["k0sproject/k0sctl#172", "alexellis/k3sup#306", "ground truth 2"],
  run(e, plan) {
    const nodes = items(e, API_KEYS.node);
    const lab = plan.network.block;
    const dup = shared(nodes.flatMap((n) => internalIps(n).map((ip) => [nameOf(n), ip] as const)));
    const findings: Finding[] = nodes.map((n) => {
      const name = nameOf(n);
      const ips = internalIps(n);
      const planned = plan.nodes.find((p) => p.name === name);
      const problems = [
        ips.length === 0 && "no InternalIP",
        ...ips
          .filter((ip) => inRange(NAT, ip))
          .map((ip) => `InternalIP ${ip} is in VirtualBox's NAT network 10.0.2.0/24`),
        ...ips
          .filter((ip) => dup.has(ip))
          .map(
            (ip) =>
              `InternalIP ${ip} is also the InternalIP of ${(dup.get(ip) ?? []).filter((x) => x !== name).join(", ")}`,
          ),
        ...ips
          .filter((ip) => !inRange(lab, ip) && !inRange(NAT, ip))
          .map((ip) => `InternalIP ${ip} is outside the lab network ${plan.network.cidr}`),
        planned && !ips.includes(planned.ip) && `the plan's node-ip for ${name} is ${planned.ip}`,
      ].filter((p): p is string => typeof p === "string");
      if (problems.length === 0)
        return {
          verdict: "pass",
          subject: name,
          evidence: [`InternalIP ${ips.join(", ")} in ${plan.network.cidr}${planned ? " (the plan's node-ip)" : ""}`],
        };
      const want = planned?.ip ?? `its ${plan.network.cidr} address`;
      return {
        verdict: "fail",
        subject: name,
        evidence: [describeAddresses(n), ...problems],
        fix: `give the kubelet its lab address: KUBELET_EXTRA_ARGS=--node-ip=${want} in /etc/default/kubelet (kubelab up writes it), then systemctl restart kubelet on ${name}`,
      };
    });
    for (const p of plan.nodes)
      if (!nodes.some((n) => nameOf(n) === p.name))
        findings.push({
          verdict: "warn",
          subject: p.name,
          evidence: [`no Node ${p.name} in the API (the plan has it at ${p.ip})`],
          fix: `run kubelab up, or look at the kubelet on ${p.name}: journalctl -u kubelet`,
        });
    return findings;
  },
};

const felixHealth: Check = {
  id: "calico.felix-health-localhost",
  title: "calico-node does not crash-loop on felix's health endpoint (FELIX_HEALTHHOST=127.0.0.1)",
  needs: ["api"],
  references: ["projectcalico/calico#6963", "projectcalico/node#1360", "ground truth 3"],
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
      const status = list(pod, "status", "containerStatuses").find((c) => c.name === CALICO_NODE);
      const last = at(status, "lastState", "terminated");
      const waiting = str(status, "state", "waiting", "reason");
      const state = [
        `calico-node restartCount ${restarts}`,
        waiting && `waiting: ${waiting}`,
        isObj(last) &&
          `last terminated: ${str(last, "reason") ?? "?"} (exit ${num(last, "exitCode") ?? "?"}) at ${str(last, "finishedAt") ?? "?"}`,
      ]
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
        subject: `DaemonSet ${refOf(calicoDaemonSet(e) as Obj)}`,
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

const calicoAddress: Check = {
  id: "calico.node-address",
  title: "Calico detected each node's lab-network address (not the NAT address)",
  needs: ["api"],
  references: ["k0sproject/k0sctl#172", "alexellis/k3sup#306", "ground truth 2"],
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
    const dup = shared(
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

const deprecatedConfig: Check = {
  id: "metallb.deprecated-config",
  title: "no legacy MetalLB configuration (AddressPool objects, ConfigMap metallb-system/config)",
  needs: ["api"],
  references: ["metallb/metallb#2252", "ground truth 4e"],
  run(e, plan) {
    const legacy = items(e, API_KEYS.addressPool);
    const cm = items(e, API_KEYS.configMap).find((c) => nsOf(c) === METALLB_NAMESPACE && nameOf(c) === "config");
    if (!plan.addons.metallb.enabled && legacy.length === 0 && !cm) return [];
    const findings: Finding[] = legacy.map((p) => ({
      verdict: "fail",
      subject: `AddressPool ${refOf(p)}`,
      evidence: [
        `metallb.io AddressPool ${refOf(p)}: protocol ${str(p, "spec", "protocol") ?? "?"}, addresses ${json(strings(p, "spec", "addresses"))}`,
        "AddressPool was deprecated in MetalLB v0.13 and is ignored since v0.14: its addresses are never assigned or announced",
      ],
      fix: `move its addresses to an IPAddressPool with an L2Advertisement naming it (kubelab up renders both from addons.metallb.pools), then kubectl -n ${nsOf(p)} delete addresspool ${nameOf(p)}`,
    }));
    if (cm) {
      const text = record(cm, "data").config ?? "";
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
        fix: `express it as IPAddressPool + L2Advertisement (kubelab up renders them from addons.metallb.pools), then kubectl -n ${nsOf(cm)} delete configmap ${nameOf(cm)}`,
      });
    }
    return findings.length > 0
      ? findings
      : [{ verdict: "pass", evidence: [`no AddressPool objects, no ConfigMap ${METALLB_NAMESPACE}/config`] }];
  },
};

const advertisement: Check = {
  id: "metallb.advertisement",
  title: "MetalLB has an IPAddressPool and an L2Advertisement that announces it",
  needs: ["api"],
  references: ["ground truth 4e"],
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

const pendingServices: Check = {
  id: "metallb.pending-services",
  title: "every LoadBalancer Service has an address",
  needs: ["api"],
  references: ["ground truth 4"],
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

const localTrafficPolicy: Check = {
  id: "metallb.local-traffic-policy",
  title: "externalTrafficPolicy: Local Services have a ready endpoint on the node announcing them",
  needs: ["api"],
  references: ["metallb/metallb#1777", "metallb/metallb#258", "ground truth 4a"],
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
    const fix = (svc: Obj) =>
      `kubectl -n ${nsOf(svc)} patch service ${nameOf(svc)} -p '{"spec":{"externalTrafficPolicy":"Cluster"}}' (what fixed the seed's lab; kubelab's UI Service uses Cluster); keep Local only with a ready pod on every node that may announce (a DaemonSet) or an L2Advertisement nodeSelectors limited to those nodes`;
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

const speakerOnNode: Check = {
  id: "metallb.speaker-on-node",
  title: "a ready MetalLB speaker runs on the node announcing each LoadBalancer address",
  needs: ["api"],
  references: ["ground truth 4f"],
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

const kubeProxyMode: Check = {
  id: "kube-proxy.mode",
  title: "the live kube-proxy configuration: IPVS has strictARP when MetalLB is in use",
  needs: ["api"],
  references: ["metallb/metallb#153", "ground truth 4b"],
  run(e, plan) {
    const cm = items(e, API_KEYS.configMap).find((c) => nsOf(c) === "kube-system" && nameOf(c) === "kube-proxy");
    if (!cm) return [];
    const text = record(cm, "data")["config.conf"];
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

const DAY_MS = 86_400_000;

const issuerExpiry: Check = {
  id: "linkerd.issuer-expiry",
  title: `Linkerd's issuer certificate is valid for more than ${ISSUER_RENEW_DAYS} days`,
  needs: ["api"],
  references: ["https://linkerd.io/2/tasks/manually-rotating-control-plane-tls-credentials/"],
  run(e, plan) {
    if (!plan.addons.linkerd.enabled) return [];
    const subject = `Secret ${LINKERD_ISSUER.namespace}/${LINKERD_ISSUER.name}`;
    const secret = items(e, API_KEYS.secret).find(
      (s) => nsOf(s) === LINKERD_ISSUER.namespace && nameOf(s) === LINKERD_ISSUER.name,
    );
    const renew = `run kubelab up: it renews an issuer within ${ISSUER_RENEW_DAYS} days of expiry from the kept trust anchor (kube-system/kubelab-linkerd-identity) and applies it to ${subject}`;
    if (!secret)
      return [
        {
          verdict: "warn",
          subject,
          evidence: [`no ${subject}: Linkerd's control plane is not installed`],
          fix: "run kubelab up: it installs Linkerd with a generated issuer",
        },
      ];
    const data = record(secret, "data");
    const key = ISSUER_CERT_KEYS.find((k) => data[k] !== undefined);
    if (!key)
      return [
        { verdict: "fail", subject, evidence: [`no ${ISSUER_CERT_KEYS.join(" or ")} in ${subject}`], fix: renew },
      ];
    let notAfter: Date;
    try {
      notAfter = issuerNotAfter(Buffer.from(data[key] as string, "base64").toString("utf8"));
    } catch (err) {
      return [
        { verdict: "fail", subject, evidence: [`${key} is not a certificate: ${(err as Error).message}`], fix: renew },
      ];
    }
    // The time of collection, not of the check: a saved dump gives the same verdict later.
    const now = Date.parse(e.collectedAt);
    const days = (notAfter.getTime() - now) / DAY_MS;
    const line = `${key}: notAfter ${notAfter.toISOString()}`;
    if (days <= 0)
      return [
        {
          verdict: "fail",
          subject,
          evidence: [
            line,
            `expired ${Math.floor(-days)} days before ${e.collectedAt}: proxies cannot get new certificates, meshed traffic fails`,
          ],
          fix: renew,
        },
      ];
    if (days <= ISSUER_RENEW_DAYS)
      return [
        {
          verdict: "warn",
          subject,
          evidence: [line, `expires in ${Math.floor(days)} days (within ${ISSUER_RENEW_DAYS})`],
          fix: renew,
        },
      ];
    return [{ verdict: "pass", subject, evidence: [`${line} (in ${Math.floor(days)} days)`] }];
  },
};

export const apiChecks: readonly Check[] = [
  nodeAddresses,
  felixHealth,
  calicoAddress,
  deprecatedConfig,
  advertisement,
  pendingServices,
  localTrafficPolicy,
  speakerOnNode,
  kubeProxyMode,
  issuerExpiry,
];
