/**
 * Formats of the cluster file's free-text fields that end up on a command line or in a
 * generated file: SSH users and addresses (an argument of `ssh`, where a leading `-` would be
 * read as an option), Vagrant boxes and version constraints (in the Vagrantfile), the API
 * endpoint (in kubeadm's configuration and the kubeconfig). Each is a regular expression, so
 * that the JSON Schema carries it as `pattern` for editors, plus a check of what a pattern
 * cannot say (an IPv6 literal parses, a port is in range, an all-digit name is an IPv4
 * address). A value that fails gets the message and the fix given here.
 */
import { isIPv6 } from "node:net";
import { z } from "zod";
import { parseIpv4 } from "../net/ipv4.js";

/** A POSIX user name as useradd takes it: a letter or `_` first, then letters, digits, `.`, `_`, `-`; at most 32. */
export const USER_NAME = /^[A-Za-z_][A-Za-z0-9._-]{0,31}$/;

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const HOST_NAME = `${LABEL}(?:\\.${LABEL})*\\.?`;
/** The characters of an IPv6 literal, with at least one `:` (isIPv6 checks the rest). */
const IPV6_CHARS = "[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*";

/** A host name (RFC 1123 labels), an IPv4 address or an IPv6 literal; never starts with `-`. */
export const HOST_ADDRESS = new RegExp(`^(?:${HOST_NAME}|${IPV6_CHARS})$`);

/** `host[:port]` with a host name or an IPv4 address. */
export const HOST_PORT = new RegExp(`^${HOST_NAME}(?::[0-9]{1,5})?$`);

/** A Vagrant box: `owner/name` or a name, no whitespace. */
export const BOX_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(?:\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/;

/** A Vagrant version constraint (`202510.26.0`, `>= 1.2, < 2`, `~> 4.3`): one line of these characters. */
export const VERSION_CONSTRAINT = /^[0-9A-Za-z.,<>=~! -]{1,100}$/;

/** A host part that is all digits and dots must be an IPv4 address (999.1.1.1 is neither name nor address). */
function hostOk(host: string): boolean {
  if (host.includes(":")) return isIPv6(host);
  if (/^[0-9.]+$/.test(host)) return parseIpv4(host.replace(/\.$/, "")) !== undefined;
  return host.replace(/\.$/, "").length <= 253;
}

function hostPortOk(value: string): boolean {
  const m = /^(.*?)(?::([0-9]+))?$/.exec(value);
  const port = m?.[2] === undefined ? 443 : Number(m[2]);
  return m?.[1] !== undefined && hostOk(m[1]) && port >= 1 && port <= 65535;
}

/**
 * formatted is a string field that must match `pattern` (and pass `check`); otherwise the
 * error says `message` and `fix`. The pattern is the JSON Schema's `pattern`.
 */
function formatted(pattern: RegExp, message: string, fix: string, check: (v: string) => boolean = () => true) {
  return z
    .string()
    .refine((v) => pattern.test(v) && check(v), { error: message, params: { fix } })
    .meta({ pattern: pattern.source });
}

/** The SSH login user of a host or jump host. */
export const sshUser = formatted(
  USER_NAME,
  "must be a user name (letters, digits, '.', '_', '-'; not starting with '-' or a digit)",
  "write the login name, such as root or ubuntu",
);

/** The address of a host or jump host. */
export const hostAddress = formatted(
  HOST_ADDRESS,
  "must be a host name, an IPv4 address or an IPv6 address",
  "write an address such as 192.168.56.11 or a name such as node1.lab.example",
  hostOk,
);

/** `kubernetes.controlPlaneEndpoint`. */
export const hostPort = formatted(
  HOST_PORT,
  "must be host[:port] with a host name or an IPv4 address",
  "write an address such as 192.168.56.10:6443 or lb.lab.example:6443",
  hostPortOk,
);

/** `provider.box` of vagrant. */
export const boxName = formatted(
  BOX_NAME,
  "must be a box name: owner/name or a name, without spaces",
  "write a box such as bento/ubuntu-24.04",
);

/** `provider.boxVersion` of vagrant. */
export const versionConstraint = formatted(
  VERSION_CONSTRAINT,
  "must be a Vagrant version constraint on one line (digits, letters, '.', ',', '<', '>', '=', '~', '!', spaces)",
  'write a version such as 202510.26.0, or a constraint such as ">= 202510"',
);
