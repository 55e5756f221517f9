/**
 * Calico: a pure transform of the pinned upstream `manifests/calico.yaml` (parsed with
 * parseManifest) into what kubelab applies. The `calico-node` container of the `calico-node`
 * DaemonSet (its env, and its probes for a VXLAN backend) and `calico_backend` in the
 * `calico-config` ConfigMap change; every other object is returned as upstream ships it.
 *
 * Labs often apply the manifest as is and then run
 * `kubectl set env ds/calico-node FELIX_HEALTHHOST=127.0.0.1` after the pods have already crash
 * looped. kubelab renders the settings in before the first apply, so the first calico-node pod
 * is already right.
 */
import type { Plan } from "../plan/types.js";
import { CALICO_ENCAPSULATIONS, type CalicoEncapsulationSettings } from "./calico-encapsulation.js";
import type { KubeObject } from "./types.js";

/** Name of both the DaemonSet and its main container in calico.yaml. */
export const CALICO_NODE = "calico-node";
/** The ConfigMap calico.yaml's containers read their shared settings from. */
export const CALICO_CONFIG = "calico-config";

/** One entry of a container's `env` list (the subset of core/v1 EnvVar kubelab touches). */
export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: Readonly<Record<string, unknown>>;
}

/**
 * The env settings kubelab owns in calico-node, in the order they are applied.
 * Exported so `doctor` can compare a live DaemonSet with what kubelab would render.
 */
export function calicoNodeSettings(plan: Plan): EnvVar[] {
  const cni = calicoOf(plan);
  const encapsulation = CALICO_ENCAPSULATIONS[cni.encapsulation];
  return [
    // Failure 3 (calico#6963, node#1360): felix binds its health endpoint to the *name*
    // "localhost"; on the VMs the resolver sends that to 8.8.8.8, the lookup fails and the
    // liveness probe kills calico-node in a loop. An address needs no resolver.
    { name: "FELIX_HEALTHHOST", value: "127.0.0.1" },
    // Failure 2 (k0sctl#172, k3sup#306): without a method Calico autodetects the first
    // interface, which on Vagrant is the NAT NIC (10.0.2.15, the same on every node), so BGP/IPIP
    // peers all point at themselves. The plan's default is `can-reach=$(NODEIP)` (kubespray's
    // choice), NODEIP being the kubelet's node-ip (below); `cidrs=` / `interface=` also work.
    { name: "IP_AUTODETECTION_METHOD", value: cni.ipAutodetectionMethod },
    // addons.cni.encapsulation. Like the CIDR below, Calico reads these only when it creates the
    // default IPPool, so they must be right on the first apply.
    { name: "CALICO_IPV4POOL_IPIP", value: encapsulation.ipipMode },
    { name: "CALICO_IPV4POOL_VXLAN", value: encapsulation.vxlanMode },
    // Commented out upstream, so Calico would create its default pool as 192.168.0.0/16, which
    // is neither kubeadm's podSubnet nor disjoint from the typical 192.168.56.0/24 lab network.
    // It only takes effect when the default IPPool is first created, so it must be right on the
    // first apply.
    { name: "CALICO_IPV4POOL_CIDR", value: plan.kubernetes.podSubnet },
  ];
}

/**
 * NODEIP: the node's address as the kubelet reports it (status.hostIP), which kubelab sets with
 * `--node-ip` to the lab-network address. It must come BEFORE IP_AUTODETECTION_METHOD: Kubernetes
 * expands `$(VAR)` only for variables defined earlier in the same list; a later (or missing) one
 * leaves the literal text `can-reach=$(NODEIP)`, which Calico cannot resolve, and calico-node
 * falls back to the wrong address or fails readiness.
 */
const NODEIP: EnvVar = { name: "NODEIP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } };

/**
 * Returns the upstream calico.yaml objects with kubelab's settings rendered in. In calico-node's
 * env: `FELIX_HEALTHHOST=127.0.0.1`, `NODEIP` (from status.hostIP, placed right before
 * `IP_AUTODETECTION_METHOD`), `IP_AUTODETECTION_METHOD` from the plan, the default pool's
 * `CALICO_IPV4POOL_IPIP` and `CALICO_IPV4POOL_VXLAN` for the plan's encapsulation, and
 * `CALICO_IPV4POOL_CIDR` = the plan's pod subnet. For the encapsulation also `calico_backend`
 * in the calico-config ConfigMap and, with a `vxlan` backend, calico-node's probes without
 * their BIRD checks.
 *
 * Each variable is replaced in place when upstream already sets it (keeping upstream's order and
 * never leaving a duplicate, where the last one would silently win) and appended otherwise.
 * The input is never mutated; objects other than these two are returned as is.
 *
 * @throws Error if the calico-node DaemonSet, its calico-node container or the calico-config
 *   ConfigMap is missing, i.e. the manifest is not the one kubelab pins: better to stop than to
 *   apply a Calico with the known failures silently back in.
 */
export function transformCalico(objects: readonly KubeObject[], plan: Plan): KubeObject[] {
  const settings = calicoNodeSettings(plan);
  const encapsulation = CALICO_ENCAPSULATIONS[calicoOf(plan).encapsulation];
  const dsAt = indexOf(objects, isCalicoNodeDaemonSet, "DaemonSet calico-node");
  const configAt = indexOf(objects, isCalicoConfig, "ConfigMap calico-config");
  const ds = structuredClone(objects[dsAt]) as KubeObject;
  const container = calicoNodeContainer(ds);
  let env: EnvVar[] = Array.isArray(container.env) ? (container.env as EnvVar[]) : [];
  for (const setting of settings) env = setEnv(env, setting);
  env = placeBefore(env, NODEIP, "IP_AUTODETECTION_METHOD");
  container.env = env;
  if (encapsulation.backend !== "bird") withoutBirdChecks(container);
  const config = withBackend(objects[configAt] as KubeObject, encapsulation);
  return objects.map((o, i) => (i === dsAt ? ds : i === configAt ? config : o));
}

/** The plan's Calico settings; rendering Calico for a plan without it is a bug in the caller. */
function calicoOf(plan: Plan): Extract<Plan["addons"]["cni"], { plugin: "calico" }> {
  const cni = plan.addons.cni;
  if (cni.plugin !== "calico") {
    throw new Error(`calico: the plan's CNI plugin is "${cni.plugin}", not calico; nothing to render`);
  }
  return cni;
}

function indexOf(objects: readonly KubeObject[], is: (o: KubeObject) => boolean, what: string): number {
  const at = objects.findIndex(is);
  if (at < 0) {
    throw new Error(`transformCalico: no ${what} in the Calico manifest; is it the pinned manifests/calico.yaml?`);
  }
  return at;
}

/**
 * A copy of calico-config whose `calico_backend` is the encapsulation's: calico-node starts BIRD
 * only for `bird`, and the CNI plugin's installer reads the same key.
 */
function withBackend(config: KubeObject, encapsulation: CalicoEncapsulationSettings): KubeObject {
  const data = isRecord(config.data) ? config.data : {};
  return { ...structuredClone(config), data: { ...data, calico_backend: encapsulation.backend } };
}

/**
 * Drops `-bird-live` and `-bird-ready` (and their IPv6 twins) from calico-node's liveness and
 * readiness commands: with a `vxlan` backend no BIRD runs, so those checks would fail forever and
 * the kubelet would restart a healthy calico-node.
 */
function withoutBirdChecks(container: Record<string, unknown>): void {
  for (const probe of ["livenessProbe", "readinessProbe"]) {
    const exec = path(container, [probe, "exec"]);
    if (isRecord(exec) && Array.isArray(exec.command)) {
      exec.command = exec.command.filter((arg) => !/^-bird6?-(live|ready)$/.test(String(arg)));
    }
  }
}

/**
 * Reads the env list of the calico-node container back from a list of objects (rendered, or
 * fetched from a cluster), e.g. for `doctor` to check FELIX_HEALTHHOST and the NODEIP order.
 *
 * @throws Error if the calico-node DaemonSet or container is missing.
 */
export function calicoNodeEnv(objects: readonly KubeObject[]): EnvVar[] {
  const ds = objects.find(isCalicoNodeDaemonSet);
  if (ds === undefined) throw new Error("calicoNodeEnv: no DaemonSet calico-node among the objects");
  const env = calicoNodeContainer(ds).env;
  return Array.isArray(env) ? structuredClone(env as EnvVar[]) : [];
}

function isCalicoNodeDaemonSet(o: KubeObject): boolean {
  return o.kind === "DaemonSet" && o.apiVersion === "apps/v1" && o.metadata.name === CALICO_NODE;
}

function isCalicoConfig(o: KubeObject): boolean {
  return o.kind === "ConfigMap" && o.apiVersion === "v1" && o.metadata.name === CALICO_CONFIG;
}

/** The `calico-node` entry of spec.template.spec.containers (init containers do not count). */
function calicoNodeContainer(ds: KubeObject): Record<string, unknown> {
  const containers = path(ds, ["spec", "template", "spec", "containers"]);
  const found = Array.isArray(containers)
    ? containers.find((c): c is Record<string, unknown> => isRecord(c) && c.name === CALICO_NODE)
    : undefined;
  if (found === undefined) {
    throw new Error("DaemonSet calico-node has no container named calico-node in spec.template.spec.containers");
  }
  return found;
}

/** Replaces the variable in place (dropping any later duplicates) or appends it. */
function setEnv(env: readonly EnvVar[], v: EnvVar): EnvVar[] {
  const at = env.findIndex((e) => e.name === v.name);
  if (at < 0) return [...env, v];
  return env.flatMap((e, i) => (e.name !== v.name ? [e] : i === at ? [v] : []));
}

/** Puts `v` (replacing any existing entry of that name) directly before the entry named `before`. */
function placeBefore(env: readonly EnvVar[], v: EnvVar, before: string): EnvVar[] {
  const rest = env.filter((e) => e.name !== v.name);
  const at = rest.findIndex((e) => e.name === before);
  if (at < 0) return [...rest, v];
  return [...rest.slice(0, at), v, ...rest.slice(at)];
}

function path(o: unknown, keys: readonly string[]): unknown {
  let cur: unknown = o;
  for (const k of keys) {
    if (!isRecord(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
