// Existing hosts (ssh provider) on loopback ports, for tests of what kubelab says about hosts
// that answer or refuse: no sshd, only a port that listens or one that refuses.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { DEFAULT_CLUSTER_YAML } from "../../src/config/default-cluster.js";

/** listen opens a loopback port; closed, the same port refuses connections. */
export async function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address && typeof address === "object");
  return { server, port: address.port };
}

/** closedPort is a loopback port nothing listens on. */
export const closedPort = async (): Promise<number> => {
  const { server, port } = await listen();
  await new Promise((resolve) => server.close(resolve));
  return port;
};

/** sshLab is the default lab on existing hosts at the given loopback ports. */
export function sshLab(ports: number[]): string {
  const names = ["master-1", "worker-1", "worker-2"];
  const hosts = names.map((n, i) => `    - { node: ${n}, address: 127.0.0.1, port: ${ports[i]} }\n`).join("");
  return DEFAULT_CLUSTER_YAML.replace(/provider:\n( {2}.*\n)+/, `provider:\n  name: ssh\n  hosts:\n${hosts}`);
}
