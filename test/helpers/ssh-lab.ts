// The default lab on existing hosts that are loopback ports, for tests that bring a port of
// their own (a silent listener, an in-test SSH server): keys made here, no ssh-keygen.
import { generateKeyPairSync } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_CLUSTER_YAML } from "../../src/config/default-cluster.js";

/** rsaKeyPem is a fresh RSA private key in the PEM form ssh2 reads (as a client key or a host key). */
export function rsaKeyPem(): string {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "pkcs1", format: "pem" },
  }).privateKey;
}

/**
 * sshLabFile writes `dir/kubelab.yaml`: the default lab (cluster `lab`) on existing hosts,
 * every node at 127.0.0.1:`port` as root, with a key written beside it; returns its path.
 */
export async function sshLabFile(dir: string, port: number): Promise<string> {
  const key = join(dir, "id_rsa");
  await writeFile(key, rsaKeyPem(), { mode: 0o600 });
  const hosts = ["master-1", "worker-1", "worker-2"]
    .map((n) => `    - { node: ${n}, address: 127.0.0.1, port: ${port}, user: root, key: ${key} }\n`)
    .join("");
  const file = join(dir, "kubelab.yaml");
  await writeFile(
    file,
    DEFAULT_CLUSTER_YAML.replace(/provider:\n( {2}.*\n)+/, `provider:\n  name: ssh\n  hosts:\n${hosts}`),
  );
  return file;
}
