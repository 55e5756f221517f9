import { clusterPaths } from "../plan/cluster-dir.js";
import { shellQuote } from "../remote/quote.js";
import type { SshEndpoint } from "../remote/types.js";

/** How `kubelab ssh` treats host keys. */
export interface SshArgsOptions {
  /**
   * Refuse a host whose key is not in the cluster's known_hosts yet (StrictHostKeyChecking=yes).
   * Otherwise a new host's key is recorded on first use and a changed one refused
   * (StrictHostKeyChecking=accept-new), as kubelab's own connections do.
   */
  readonly strictHostKeys?: boolean;
}

/** The options every hop gets: the cluster's known_hosts, the host key policy, the port and the key. */
function hopOptions(ep: SshEndpoint, known: string, strict: boolean, key: string | undefined, only: boolean): string[] {
  const args = [
    "-o",
    `UserKnownHostsFile=${known}`,
    "-o",
    `StrictHostKeyChecking=${strict ? "yes" : "accept-new"}`,
    "-p",
    String(ep.port),
  ];
  if (key) args.push("-i", key);
  if (key && only) args.push("-o", "IdentitiesOnly=yes");
  return args;
}

/**
 * proxyCommand reaches the destination through the jump host with the same known_hosts,
 * policy and key as the last hop. Not `-J`: OpenSSH starts the jump's ssh without the `-o`
 * options given here, so the jump host would be checked against the user's own known_hosts
 * and offered the user's keys. OpenSSH runs the command through the user's shell and expands
 * `%` tokens in it: every word is quoted, every `%` of ours doubled.
 */
function proxyCommand(ep: SshEndpoint, jump: SshEndpoint, known: string, strict: boolean): string {
  // The jump's own key when the file names one; else the destination's, beside the agent's.
  const key = jump.privateKeyPath ?? ep.privateKeyPath;
  const ours = (words: string[]) => words.map((w) => w.replaceAll("%", "%%"));
  const hop = ours(["ssh", ...hopOptions(jump, known, strict, key, jump.privateKeyPath !== undefined)]);
  return shellQuote([...hop, "-W", "%h:%p", ...ours(["--", `${jump.user}@${jump.host}`])]);
}

/**
 * sshArgs builds OpenSSH client arguments for an endpoint: the cluster's known_hosts (kubelab
 * recorded the keys when it first connected), the endpoint's key, and a jump host reached
 * with the same known_hosts and key. The destination and the command follow `--`.
 */
export function sshArgs(
  endpoint: SshEndpoint,
  clusterDir: string,
  command: readonly string[],
  opts: SshArgsOptions = {},
): string[] {
  const known = clusterPaths(clusterDir).knownHosts;
  const strict = opts.strictHostKeys === true;
  const args = hopOptions(endpoint, known, strict, endpoint.privateKeyPath, true);
  if (endpoint.jump) args.push("-o", `ProxyCommand=${proxyCommand(endpoint, endpoint.jump, known, strict)}`);
  // `--` before the destination: nothing after it is read as an option, whatever the
  // user and address hold (the schema refuses a leading `-`; this holds without it too).
  args.push("--", `${endpoint.user}@${endpoint.host}`, ...command);
  return args;
}
