import { clusterPaths } from "../plan/cluster-dir.js";
import type { SshEndpoint } from "../remote/types.js";

/**
 * sshArgs builds OpenSSH client arguments for an endpoint: the cluster's known_hosts with
 * strict checking (kubelab recorded the keys when it first connected), the endpoint's key,
 * and a jump host when there is one. The destination and the command follow `--`.
 */
export function sshArgs(endpoint: SshEndpoint, clusterDir: string, command: readonly string[]): string[] {
  const known = clusterPaths(clusterDir).knownHosts;
  const args = ["-o", `UserKnownHostsFile=${known}`, "-o", "StrictHostKeyChecking=yes", "-p", String(endpoint.port)];
  if (endpoint.privateKeyPath) args.push("-i", endpoint.privateKeyPath, "-o", "IdentitiesOnly=yes");
  if (endpoint.jump) args.push("-J", `${endpoint.jump.user}@${endpoint.jump.host}:${endpoint.jump.port}`);
  // `--` before the destination: nothing after it is read as an option, whatever the
  // user and address hold (the schema refuses a leading `-`; this holds without it too).
  args.push("--", `${endpoint.user}@${endpoint.host}`, ...command);
  return args;
}
