/**
 * A LoadBalancer Service seen from this host on the test bridge, as MetalLB in L2 mode serves
 * it: the address it gets from the pool, an HTTP answer from the pods behind it, and the node
 * that answered ARP for it (the host's neighbour entry).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { CoreV1Api } from "@kubernetes/client-node";
import { poll } from "../../src/kube/client.js";
import type { Remote } from "../../src/remote/types.js";

const execFileP = promisify(execFile);

/**
 * loadBalancerAddress waits for the Service's first ingress address and checks that it lies in
 * `pool` ("from-to", one /24).
 */
export async function loadBalancerAddress(
  core: CoreV1Api,
  namespace: string,
  name: string,
  pool: string,
): Promise<string> {
  const ip = await poll(
    `${namespace}/${name} address`,
    async () => {
      const svc = await core.readNamespacedService({ name, namespace });
      const got = svc.status?.loadBalancer?.ingress?.[0]?.ip;
      return got ? { done: true, value: got } : { done: false, pending: "no address" };
    },
    { timeoutMs: 120_000 },
  );
  const [from = "", to = ""] = pool.split("-");
  const octet = (a: string) => Number(a.split(".")[3]);
  const prefix = from.slice(0, from.lastIndexOf(".") + 1);
  assert.ok(ip.startsWith(prefix) && octet(ip) >= octet(from) && octet(ip) <= octet(to), `${ip} is not in ${pool}`);
  return ip;
}

/** httpFromHost waits until `url` answers from this host and returns the body. */
export function httpFromHost(url: string): Promise<string> {
  return poll(
    `${url} from the host`,
    async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(3_000) }).catch((e: Error) => e);
      if (res instanceof Error) return { done: false, pending: res.message };
      return { done: true, value: await res.text() };
    },
    { timeoutMs: 90_000, intervalMs: 2_000 },
  );
}

/**
 * announcer finds the node that answered ARP for `ip`: the host's neighbour entry for it on
 * `bridge` must be one node's MAC. Returns that MAC and every node's, in `hosts`' order.
 */
export async function announcer(
  bridge: string,
  ip: string,
  hosts: ReadonlyMap<string, Remote>,
): Promise<{ mac: string; nodeMacs: string[] }> {
  const neigh = (await execFileP("ip", ["neigh", "show", ip, "dev", bridge])).stdout;
  const mac = /lladdr (\S+)/.exec(neigh)?.[1];
  assert.ok(mac, `no neighbour entry for ${ip}: ${neigh}`);
  const nodeMacs = await Promise.all(
    [...hosts.values()].map(async (h) => (await h.run(["cat", "/sys/class/net/host0/address"])).trim()),
  );
  assert.ok(nodeMacs.includes(mac), `${mac} is none of the nodes' ${nodeMacs.join(", ")}`);
  return { mac, nodeMacs };
}
