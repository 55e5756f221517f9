// Existing hosts (ssh provider) on loopback, for the hermetic tier: a port that accepts, one
// that refuses, one that accepts and never speaks SSH, an in-process SSH server (ssh2) that
// refuses every login, and the default lab moved onto such ports.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import type { TestContext } from "node:test";
import ssh2 from "ssh2";
import { parse } from "yaml";
import { DEFAULT_CLUSTER_YAML } from "../../src/config/default-cluster.js";
import type { Plan } from "../../src/plan/types.js";
import { validateCluster } from "../../src/plan/validate.js";
import { tempDir } from "./tmp.js";

// ssh2 is CommonJS: Node finds Client among its named exports, not Server.
const { Server: SshServer, utils } = ssh2;

const portOf = (server: { address(): ReturnType<Server["address"]> }) => {
  const address = server.address();
  assert.ok(address && typeof address === "object");
  return address.port;
};

/** listen opens a loopback port that accepts and closes each connection; closed, the same port refuses. */
export async function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: portOf(server) };
}

/** closedPort is a loopback port nothing listens on: connecting is refused (ECONNREFUSED). */
export async function closedPort(): Promise<number> {
  const { server, port } = await listen();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** silentPort accepts connections and never answers (no SSH banner); closed when the test ends. */
export async function silentPort(t: Pick<TestContext, "after">): Promise<number> {
  const sockets: Socket[] = [];
  const server = createServer((s) => void sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return portOf(server);
}

/**
 * ed25519Key is a fresh ed25519 private key in OpenSSH format. ssh2's generator now and then
 * (about 1 in 250) writes one its own parser refuses ("Malformed OpenSSH private key"): such a
 * key is made again, so a test never fails on it.
 */
export function ed25519Key(): string {
  for (;;) {
    const key = utils.generateKeyPairSync("ed25519").private;
    if (!(utils.parseKey(key) instanceof Error)) return key;
  }
}

/** refusingSshd is an SSH server on loopback that rejects every login; closed when the test ends. */
export async function refusingSshd(t: Pick<TestContext, "after">): Promise<number> {
  const server = new SshServer({ hostKeys: [ed25519Key()] }, (client) => {
    client.on("error", () => {});
    client.on("authentication", (ctx) => ctx.reject());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  return portOf(server);
}

/** clientKey writes a fresh ed25519 private key (OpenSSH format) into `dir` and returns its path. */
export async function clientKey(dir: string): Promise<string> {
  const path = join(dir, "id_ed25519");
  await writeFile(path, ed25519Key(), { mode: 0o600 });
  return path;
}

const NODES = ["master-1", "worker-1", "worker-2"];

/** sshLab is the default lab's text on existing hosts at the given loopback ports (one per node), with `key`. */
export function sshLab(ports: readonly number[], key?: string): string {
  const hosts = NODES.map(
    (n, i) => `    - { node: ${n}, address: 127.0.0.1, port: ${ports[i]}${key ? `, key: ${key}` : ""} }\n`,
  ).join("");
  return DEFAULT_CLUSTER_YAML.replace(/provider:\n( {2}.*\n)+/, `provider:\n  name: ssh\n  hosts:\n${hosts}`);
}

/** sshLabPlan is {@link sshLab} validated into a plan. */
export function sshLabPlan(ports: readonly number[], key?: string): Plan {
  const result = validateCluster(parse(sshLab(ports, key)), { file: "lab.yaml" });
  assert.ok(result.ok, JSON.stringify(result));
  return result.plan;
}

/** sshLabFile writes {@link sshLab} as kubelab.yaml in a fresh directory and returns its path. */
export async function sshLabFile(
  t: Pick<TestContext, "after">,
  ports: readonly number[],
  key?: string,
): Promise<string> {
  const file = join(await tempDir(t), "kubelab.yaml");
  await writeFile(file, sshLab(ports, key));
  return file;
}

/**
 * sshLabFileIn writes `dir/kubelab.yaml`: the default lab (cluster `lab`) with every node at
 * 127.0.0.1:`port` and a fresh key beside it, for tests that keep the cluster directory in `dir`.
 */
export async function sshLabFileIn(dir: string, port: number): Promise<string> {
  const file = join(dir, "kubelab.yaml");
  await writeFile(file, sshLab([port, port, port], await clientKey(dir)));
  return file;
}
