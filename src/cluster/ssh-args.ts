import { clusterPaths } from "../plan/cluster-dir.js";
import type { SshEndpoint } from "../remote/types.js";

/**
 * sshArgs builds OpenSSH client arguments for an endpoint: the cluster's known_hosts with
 * strict checking (kubelab recorded the keys when it first connected), the endpoint's key,
 * and a jump host when there is one. The command, if any, follows `--`.
 */
export function sshArgs(endpoint: SshEndpoint, clusterDir: string, command: readonly string[]): string[] {
  const known = clusterPaths(clusterDir).knownHosts;
  const args = ["-o", `UserKnownHostsFile=${known}`, "-o", "StrictHostKeyChecking=yes", "-p", String(endpoint.port)];
  if (endpoint.privateKeyPath) args.push("-i", endpoint.privateKeyPath, "-o", "IdentitiesOnly=yes");
  if (endpoint.jump) args.push("-J", `${endpoint.jump.user}@${endpoint.jump.host}:${endpoint.jump.port}`);
  args.push(`${endpoint.user}@${endpoint.host}`);
  if (command.length > 0) args.push("--", ...command);
  return args;
}
