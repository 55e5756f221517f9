/**
 * A small lab network for tests that send real packets from this host: a Linux bridge with an
 * address in a free 10.233.X.0/24, and network namespaces joined to it by veth pairs, each
 * holding addresses of its own (so it answers ARP for them) and running what the test starts
 * in it. Needs root, iproute2, and iptables or nft (scripts/dev-tools/install-deps.sh). All
 * of it (processes, namespaces, veths, bridge) goes in t.after, also when the test fails.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import { outsideHermetic, unavailable } from "./prereq.js";
import { findOnPath } from "./tools.js";

const execFileP = promisify(execFile);

/**
 * requireNetns returns true when namespaces and a bridge can be made here. Otherwise the test
 * is skipped with the reason, except under CI=true, where it throws: CI must never skip silently.
 */
export function requireNetns(t: TestContext): boolean {
  outsideHermetic("root and network namespaces");
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root");
  if (!findOnPath("ip")) missing.push("ip (iproute2)");
  if (!findOnPath("iptables") && !findOnPath("nft")) missing.push("iptables or nft");
  if (missing.length === 0) return true;
  unavailable(
    t,
    `a test network needs ${missing.join(", ")}`,
    missing.length === 1 && missing[0] === "root"
      ? "run the test as root"
      : "run scripts/dev-tools/install-deps.sh as root",
  );
  return false;
}

/** `ip ARGS` (by absolute path: a non-login root shell may have no /usr/sbin on PATH). */
export async function ip(...args: string[]): Promise<string> {
  const { stdout } = await execFileP(findOnPath("ip") ?? "ip", args, { encoding: "utf8", timeout: 20_000 });
  return stdout;
}

export interface TestNetwork {
  /** The bridge on this host. */
  readonly bridge: string;
  /** `10.233.X.0/24` */
  readonly cidr: string;
  /** The host's address on the bridge, `10.233.X.1`. */
  readonly hostAddress: string;
  /** `10.233.X.n` */
  address(n: number): string;
  /**
   * addNamespace makes a namespace joined to the bridge by a veth pair (`eth0` inside), holding
   * `addresses` (/24), and returns its name and the MAC of its eth0: the MAC that answers ARP.
   */
  addNamespace(letter: string, addresses: readonly string[]): Promise<{ name: string; mac: string }>;
  /** dropSyns makes the namespace drop every incoming TCP SYN (it still answers ARP). */
  dropSyns(ns: string): Promise<void>;
  /**
   * spawnIn runs `node -e script` in the namespace and resolves once it prints `ready` on a
   * line; the process is killed in t.after.
   */
  spawnIn(ns: string, script: string): Promise<ChildProcess>;
}

/** A random free 10.233.X.0/24: no address or route of this host in it. */
function freeSubnet(): string {
  const used = [
    execFileSync(findOnPath("ip") ?? "ip", ["-o", "-4", "addr", "show"], { encoding: "utf8" }),
    execFileSync(findOnPath("ip") ?? "ip", ["-o", "-4", "route", "show", "table", "all"], { encoding: "utf8" }),
  ].join("\n");
  const free = Array.from({ length: 256 }, (_, i) => i).filter(
    (i) => !used.includes(`10.233.${i}.`) && !used.includes(`10.233.${i}/`),
  );
  const third = free[Math.floor(Math.random() * free.length)];
  if (third === undefined) throw new Error("no free /24 left in 10.233.0.0/16 on this host");
  return `10.233.${third}`;
}

/** testNetwork makes the bridge (cleanup registered first, so a half-made network goes too). */
export async function testNetwork(t: TestContext): Promise<TestNetwork> {
  const id = randomBytes(3).toString("hex");
  const bridge = `klbr-${id}`;
  const subnet = freeSubnet();
  const namespaces: string[] = [];
  const veths: string[] = [];
  const children: ChildProcess[] = [];
  t.after(async () => {
    const problems: string[] = [];
    for (const c of children) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const exited = new Promise((r) => c.once("exit", r));
      c.kill("SIGKILL");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5_000)))]);
      clearTimeout(timer);
    }
    const attempt = (what: string, p: Promise<unknown>) =>
      p.catch((e: Error) =>
        /Cannot find device|No such file|does not exist/.test(e.message) ? "" : problems.push(`${what}: ${e.message}`),
      );
    for (const ns of namespaces) await attempt(`netns ${ns}`, ip("netns", "delete", ns));
    for (const v of veths) await attempt(`veth ${v}`, ip("link", "delete", "dev", v));
    await attempt(`bridge ${bridge}`, ip("link", "delete", "dev", bridge));
    if (problems.length > 0) throw new Error(`test network cleanup: ${problems.join("; ")}`);
  });
  await ip("link", "add", "name", bridge, "type", "bridge", "forward_delay", "0");
  await ip("addr", "add", `${subnet}.1/24`, "dev", bridge);
  await ip("link", "set", "dev", bridge, "up");

  return {
    bridge,
    cidr: `${subnet}.0/24`,
    hostAddress: `${subnet}.1`,
    address: (n) => `${subnet}.${n}`,
    async addNamespace(letter, addresses) {
      const name = `klp-${id}-${letter}`;
      const veth = `klp${letter}-${id}`;
      namespaces.push(name);
      await ip("netns", "add", name);
      veths.push(veth);
      await ip("link", "add", "name", veth, "type", "veth", "peer", "name", "eth0", "netns", name);
      await ip("link", "set", "dev", veth, "master", bridge);
      await ip("link", "set", "dev", veth, "up");
      for (const a of addresses) await ip("-n", name, "addr", "add", `${a}/24`, "dev", "eth0");
      await ip("-n", name, "link", "set", "dev", "eth0", "up");
      await ip("-n", name, "link", "set", "dev", "lo", "up");
      const [link] = JSON.parse(await ip("-n", name, "-j", "link", "show", "dev", "eth0")) as { address: string }[];
      if (!link?.address) throw new Error(`no MAC on eth0 in ${name}`);
      return { name, mac: link.address };
    },
    async dropSyns(ns) {
      const iptables = findOnPath("iptables");
      if (iptables) {
        await execFileP(findOnPath("ip") ?? "ip", [
          "netns",
          "exec",
          ns,
          iptables,
          "-A",
          "INPUT",
          "-p",
          "tcp",
          "--syn",
          "-j",
          "DROP",
        ]);
        return;
      }
      const nft = findOnPath("nft") ?? "nft";
      await execFileP(findOnPath("ip") ?? "ip", [
        "netns",
        "exec",
        ns,
        nft,
        "add table inet klp; add chain inet klp in { type filter hook input priority 0; }; add rule inet klp in tcp flags & (syn | ack) == syn drop",
      ]);
    },
    spawnIn(ns, script) {
      const child = spawn(findOnPath("ip") ?? "ip", ["netns", "exec", ns, process.execPath, "-e", script], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.push(child);
      return new Promise((resolve, reject) => {
        let out = "";
        const timer = setTimeout(
          () => reject(new Error(`no "ready" from the process in ${ns} in 20 s: ${out}`)),
          20_000,
        );
        const take = (d: Buffer) => {
          out += d.toString();
          if (/^ready$/m.test(out)) {
            clearTimeout(timer);
            resolve(child);
          }
        };
        child.stdout?.on("data", take);
        child.stderr?.on("data", (d: Buffer) => {
          out += d.toString();
        });
        child.once("exit", (code) => {
          clearTimeout(timer);
          reject(new Error(`the process in ${ns} exited (${code}) before it was ready: ${out}`));
        });
      });
    },
  };
}
