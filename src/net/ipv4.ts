/**
 * Minimal IPv4 arithmetic for lab planning: addresses as unsigned 32-bit numbers,
 * CIDR blocks and inclusive ranges. Pure and allocation-light.
 */

/** An inclusive range of IPv4 addresses, as numbers. */
export interface Ipv4Range {
  readonly first: number;
  readonly last: number;
}

/** A parsed CIDR block. */
export interface Cidr extends Ipv4Range {
  readonly base: number;
  readonly prefix: number;
  readonly text: string;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** parseIpv4 returns the address as a number, or undefined when `text` is not dotted-quad IPv4. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** formatIpv4 turns a number back into dotted-quad text. */
export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** parseCidr parses `a.b.c.d/n`; host bits must be zero. */
export function parseCidr(text: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m) return undefined;
  const base = parseIpv4(m[1] ?? "");
  const prefix = Number(m[2]);
  if (base === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) return undefined;
  return { base, prefix, first: base, last: base + size - 1, text };
}

/**
 * parseRange accepts `a.b.c.d-e.f.g.h`, a single address, or a CIDR, and returns
 * the inclusive range, or undefined when malformed or reversed.
 */
export function parseRange(text: string): Ipv4Range | undefined {
  if (text.includes("/")) return parseCidr(text);
  const [a, b, ...rest] = text.split("-").map((s) => s.trim());
  if (rest.length > 0 || a === undefined) return undefined;
  const first = parseIpv4(a);
  const last = b === undefined ? first : parseIpv4(b);
  if (first === undefined || last === undefined || last < first) return undefined;
  return { first, last };
}

/** formatRange prints a range as `first-last` (or one address). */
export function formatRange(r: Ipv4Range): string {
  return r.first === r.last ? formatIpv4(r.first) : `${formatIpv4(r.first)}-${formatIpv4(r.last)}`;
}

/** contains is true when `inner` lies wholly inside `outer`. */
export function contains(outer: Ipv4Range, inner: Ipv4Range): boolean {
  return inner.first >= outer.first && inner.last <= outer.last;
}

/**
 * containsAddress is true when the address (dotted-quad text, or a number from
 * {@link parseIpv4}) lies inside `range`; text that is not an IPv4 address never does.
 */
export function containsAddress(range: Ipv4Range, ip: string | number): boolean {
  const n = typeof ip === "number" ? ip : parseIpv4(ip);
  return n !== undefined && n >= range.first && n <= range.last;
}

/** overlaps is true when the two ranges share at least one address. */
export function overlaps(a: Ipv4Range, b: Ipv4Range): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/** rangeSize is the number of addresses in a range. */
export function rangeSize(r: Ipv4Range): number {
  return r.last - r.first + 1;
}
