/**
 * The host probe: what a human does by hand with tcpdump and curl when a LoadBalancer address
 * never answers, done from this host for each address, one step at a time:
 *
 *   1. the lab interface: the host interface with an address inside the lab CIDR; the address
 *      must be routed straight out of it (no gateway), otherwise it is not probed at all;
 *   2. ARP: the neighbour entry for the address on that interface is flushed, so the next
 *      packet makes the kernel send a fresh who-has; after the TCP step the entry says whether
 *      anyone answered (REACHABLE/STALE/DELAY/PROBE with a MAC) or not (INCOMPLETE/FAILED/none);
 *   3. TCP: a connect to each TCP port, with a timeout: open, refused (RST), timeout (the SYNs
 *      got no answer) or unreachable (no ARP answer, EHOSTUNREACH: the SYNs never left);
 *   4. HTTP(S): one GET / on each open web port (80, 443, 8080, 8443, or ports named http/https),
 *      https without certificate verification (lab UIs use self-signed certificates).
 *
 * Nothing but the given addresses gets traffic, and only on the lab interface. Addresses are
 * probed concurrently, a few at a time; the ports of one address one after another.
 */
import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { delimiter } from "node:path";
import { addressIn, type IpAddrLink } from "../net/host-addresses.js";
import { type Cidr, parseIpv4 } from "../net/ipv4.js";
import { nameOf, num, objects, str, strings } from "./object.js";
import type { AddressProbe, PortProbe } from "./types.js";

/** One LoadBalancer address to probe, with the Service's ports. */
export interface ProbeTarget {
  readonly address: string;
  /** `namespace/name` of the Service. */
  readonly service: string;
  readonly ports: readonly { readonly port: number; readonly protocol: string; readonly name?: string }[];
}

export interface ProbeOptions {
  /** The lab network (plan.network.block): the interface holding an address in it is probed on. */
  readonly network: Cidr;
  /** Node MAC addresses (any case) to node names, to name who answered ARP. */
  readonly macToNode?: ReadonlyMap<string, string>;
  /** Per TCP connect and per HTTP request; default 3000 ms. */
  readonly timeoutMs?: number;
  /** How many addresses at once; default 4. */
  readonly concurrency?: number;
}

const WEB_PORTS: Readonly<Record<number, "http" | "https">> = { 80: "http", 443: "https", 8080: "http", 8443: "https" };

/** webScheme: how a port speaks HTTP, by name first (`http`, `https`, `https-ui`), then by number. */
export function webScheme(port: { port: number; name?: string }): "http" | "https" | undefined {
  const m = /^(https?)(?:-|$)/.exec(port.name?.toLowerCase() ?? "");
  if (m) return m[1] as "http" | "https";
  return WEB_PORTS[port.port];
}

/**
 * probeTargets turns v1 Service objects (raw JSON, as the API returns them) into targets: one
 * per IPv4 address in status.loadBalancer.ingress, with the Service's ports (protocol TCP
 * when unset). Services without such an address give none; hostnames are not probed.
 */
export function probeTargets(services: readonly unknown[]): ProbeTarget[] {
  const targets: ProbeTarget[] = [];
  for (const svc of services) {
    const service = `${str(svc, "metadata", "namespace") ?? "default"}/${nameOf(svc)}`;
    const ports = objects(svc, "spec", "ports").flatMap((p) => {
      const port = num(p, "port");
      const name = str(p, "name");
      return port === undefined ? [] : [{ port, protocol: str(p, "protocol") ?? "TCP", ...(name ? { name } : {}) }];
    });
    const seen = new Set<string>();
    for (const entry of objects(svc, "status", "loadBalancer", "ingress")) {
      const ip = str(entry, "ip");
      if (ip === undefined || parseIpv4(ip) === undefined || seen.has(ip)) continue;
      seen.add(ip);
      targets.push({ address: ip, service, ports });
    }
  }
  return targets;
}

/** `ip ARGS` on this host (by absolute path when found: a non-login root shell may lack /usr/sbin). */
function ip(args: readonly string[]): Promise<string> {
  const path = [...(process.env.PATH ?? "").split(delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin"]
    .filter(Boolean)
    .join(delimiter);
  return new Promise((resolve, reject) => {
    execFile(
      "ip",
      args,
      { encoding: "utf8", timeout: 10_000, env: { ...process.env, PATH: path } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`ip ${args.join(" ")}: ${(stderr || err.message).trim()}`));
        else resolve(stdout);
      },
    );
  });
}

interface LabInterface {
  readonly name: string;
  readonly address: string;
}

/** labInterface: the first host interface with an IPv4 address inside the lab network. */
async function labInterface(network: Cidr): Promise<LabInterface | undefined> {
  const links = JSON.parse(await ip(["-j", "-4", "addr", "show"])) as IpAddrLink[];
  const found = addressIn(links, network);
  return found && { name: found.ifname, address: found.address };
}

/** Why `address` may not be probed on `lab`, or undefined when it is directly on the lab link. */
async function offLink(address: string, lab: LabInterface): Promise<string | undefined> {
  if (parseIpv4(address) === undefined) return `${address} is not an IPv4 address`;
  let route: unknown;
  try {
    route = objects(JSON.parse(await ip(["-j", "route", "get", address])))[0];
  } catch (e) {
    return `this host has no route to ${address} (${(e as Error).message})`;
  }
  const [dev, gateway, type] = [str(route, "dev"), str(route, "gateway"), str(route, "type")];
  if (dev === lab.name && !gateway && (type ?? "unicast") === "unicast") return undefined;
  const via = gateway ? `via ${gateway} ` : "";
  return `this host routes ${address} ${via}on ${dev ?? "?"}${type && type !== "unicast" ? ` (${type})` : ""}, not directly on the lab interface ${lab.name} (${lab.address}): the address is not on the lab network`;
}

const ANSWERED = new Set(["REACHABLE", "STALE", "DELAY", "PROBE", "PERMANENT", "NOARP"]);

interface Neighbour {
  /** undefined: no entry (or INCOMPLETE/FAILED), so no answer yet. */
  readonly mac?: string;
  readonly state: string;
}

async function neighbour(address: string, dev: string): Promise<Neighbour> {
  const entries = objects(JSON.parse((await ip(["-j", "neigh", "show", "to", address, "dev", dev])).trim() || "[]"));
  const e = entries.find((x) => x.dst === address);
  if (!e) return { state: "NONE" };
  const state = strings(e, "state")[0] ?? "NONE";
  const mac = str(e, "lladdr");
  return mac && ANSWERED.has(state) ? { mac: mac.toLowerCase(), state } : { state };
}

/** A TCP connect: open, refused, timeout, or unreachable (the kernel gave up on ARP). */
function tcpConnect(address: string, port: number, timeoutMs: number): Promise<PortProbe["tcp"]> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    const done = (r: PortProbe["tcp"]) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done("timeout"), timeoutMs);
    socket.once("connect", () => done("open"));
    socket.once("error", (e: NodeJS.ErrnoException) =>
      done(
        e.code === "ECONNREFUSED"
          ? "refused"
          : e.code === "EHOSTUNREACH" || e.code === "ENETUNREACH"
            ? "unreachable"
            : "timeout",
      ),
    );
  });
}

/**
 * Makes the kernel resolve `address` without TCP (a Service with no TCP port): one empty UDP
 * datagram to its first port, then the neighbour entry is watched until it settles.
 */
async function arpByUdp(address: string, port: number, dev: string, timeoutMs: number): Promise<Neighbour> {
  const socket = createSocket("udp4");
  socket.on("error", () => {});
  try {
    await new Promise<void>((resolve) => socket.send(Buffer.alloc(0), port, address, () => resolve()));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = await neighbour(address, dev);
      if (n.mac || n.state === "FAILED" || Date.now() >= deadline) return n;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    socket.close();
  }
}

/**
 * httpError: an HTTP(S) error in one line. OpenSSL's are cut to their reason ("EPROTO ... SSL
 * routines:ssl3_get_record:wrong version number:../deps/..." -> "TLS handshake failed: wrong
 * version number", which is what plain HTTP on a port expected to speak TLS gives).
 */
export function httpError(e: NodeJS.ErrnoException): string {
  const tls = /SSL routines:[^:]*:([^:\n]+)/.exec(e.message);
  if (tls) return `TLS handshake failed: ${tls[1]}`;
  const first = e.message.split("\n")[0] ?? "";
  return e.code && !first.includes(e.code) ? `${e.code} ${first}` : first;
}

/** One GET / : the status, or what went wrong. */
function httpGet(
  scheme: "http" | "https",
  address: string,
  port: number,
  timeoutMs: number,
): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (r: { status?: number; error?: string }) => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    const opts = { host: address, port, path: "/", method: "GET", agent: false, timeout: timeoutMs } as const;
    const req =
      scheme === "https"
        ? httpsRequest({ ...opts, rejectUnauthorized: false }, (res) => {
            settle({ status: res.statusCode });
            res.destroy();
          })
        : httpRequest(opts, (res) => {
            settle({ status: res.statusCode });
            res.destroy();
          });
    req.on("timeout", () => req.destroy(new Error(`no ${scheme.toUpperCase()} response in ${timeoutMs} ms`)));
    req.on("error", (e: NodeJS.ErrnoException) => settle({ error: `${scheme}: ${httpError(e)}` }));
    req.end();
  });
}

async function probeOne(
  target: ProbeTarget,
  lab: LabInterface,
  opts: { macToNode: ReadonlyMap<string, string>; timeoutMs: number },
): Promise<AddressProbe> {
  const skippedPorts = target.ports.map((p): PortProbe => ({ port: p.port, protocol: p.protocol, tcp: "skipped" }));
  const base = { address: target.address, service: target.service, interface: lab.name };
  const why = await offLink(target.address, lab);
  if (why) return { ...base, arp: { answered: false }, ports: skippedPorts, skipped: why };

  // A fresh who-has: forget what the kernel knows about the address (a PERMANENT entry stays).
  await ip(["neigh", "flush", "to", target.address, "dev", lab.name]).catch(() => undefined);

  const tcp = new Map<number, PortProbe["tcp"]>();
  let neigh: Neighbour | undefined;
  const tcpPorts = target.ports.filter((p) => p.protocol.toUpperCase() === "TCP");
  for (const p of tcpPorts) {
    if (tcp.has(p.port)) continue;
    let r = await tcpConnect(target.address, p.port, opts.timeoutMs);
    if (r === "timeout" || r === "unreachable") {
      neigh = await neighbour(target.address, lab.name);
      // No ARP answer: the SYNs never left this host. The other ports would only wait again.
      if (!neigh.mac) r = "unreachable";
    }
    tcp.set(p.port, r);
    if (r === "unreachable") break;
  }
  if (tcpPorts.length === 0 && target.ports.length > 0)
    neigh = await arpByUdp(target.address, target.ports[0]?.port ?? 0, lab.name, opts.timeoutMs);
  neigh = neigh?.mac ? neigh : await neighbour(target.address, lab.name);

  const ports: PortProbe[] = [];
  for (const p of target.ports) {
    const result = p.protocol.toUpperCase() === "TCP" ? (tcp.get(p.port) ?? "skipped") : "skipped";
    const scheme = webScheme(p);
    const http =
      result === "open" && scheme ? await httpGet(scheme, target.address, p.port, opts.timeoutMs) : undefined;
    ports.push({ port: p.port, protocol: p.protocol, tcp: result, ...(http ? { http } : {}) });
  }
  const node = neigh.mac ? opts.macToNode.get(neigh.mac) : undefined;
  return {
    ...base,
    arp: { answered: neigh.mac !== undefined, ...(neigh.mac ? { mac: neigh.mac } : {}), ...(node ? { node } : {}) },
    ports,
  };
}

/**
 * probeAddresses probes every target from this host on the lab interface (see the top of this
 * file). Targets sharing an address are probed one after another (each flushes its neighbour
 * entry), different addresses `concurrency` at a time. Results come in the targets' order.
 */
export async function probeAddresses(targets: readonly ProbeTarget[], opts: ProbeOptions): Promise<AddressProbe[]> {
  const lab = await labInterface(opts.network);
  if (!lab)
    return targets.map((t) => ({
      address: t.address,
      service: t.service,
      interface: "",
      arp: { answered: false },
      ports: t.ports.map((p) => ({ port: p.port, protocol: p.protocol, tcp: "skipped" as const })),
      skipped: `no interface on this host has an address in the lab network ${opts.network.text}`,
    }));
  const macToNode = new Map([...(opts.macToNode ?? new Map<string, string>())].map(([m, n]) => [m.toLowerCase(), n]));
  const run = { macToNode, timeoutMs: opts.timeoutMs ?? 3000 };

  const byAddress = new Map<string, number[]>();
  for (const [i, t] of targets.entries()) byAddress.set(t.address, [...(byAddress.get(t.address) ?? []), i]);
  const groups = [...byAddress.values()];
  const results: AddressProbe[] = new Array(targets.length);
  let next = 0;
  const worker = async () => {
    for (let g = next++; g < groups.length; g = next++)
      for (const i of groups[g] ?? []) results[i] = await probeOne(targets[i] as ProbeTarget, lab, run);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 4, groups.length)) }, worker));
  return results;
}
