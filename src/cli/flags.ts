/**
 * Flag values checked while argv is parsed, before a command loads a file or touches a
 * machine: a malformed value is a usage error (exit 2) naming the flag and what it wants.
 */
import { InvalidArgumentError } from "@commander-js/extra-typings";
import { parseMirrors } from "../bundle/mirrors.js";
import { UserError } from "../errors.js";

/** Most nodes worked on at once: far more than a lab has, few enough not to exhaust file handles. */
export const MAX_CONCURRENCY = 64;

/** concurrency reads --concurrency: a whole number from 1 to MAX_CONCURRENCY. */
export function concurrency(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > MAX_CONCURRENCY)
    throw new InvalidArgumentError(`want a whole number from 1 to ${MAX_CONCURRENCY}, like 4.`);
  return n;
}

/** maxUnavailable reads --max-unavailable: how many workers an upgrade drains at once, a whole number from 1. */
export function maxUnavailable(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > MAX_CONCURRENCY)
    throw new InvalidArgumentError(`want a whole number from 1 to ${MAX_CONCURRENCY}, like 2.`);
  return n;
}

/** mirror reads one --mirror FROM=TO pair (bundle/create.ts says what they mean), keeping earlier ones. */
export function mirror(value: string, previous: string[] = []): string[] {
  usage(() => parseMirrors([value]));
  return [...previous, value];
}

/** parseTtl reads `90s`, `30m`, `2h` (kubectl's units) as seconds. */
export function parseTtl(text: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(text.trim());
  const unit = { s: 1, m: 60, h: 3600 } as const;
  const seconds = m ? Number(m[1]) * unit[m[2] as keyof typeof unit] : Number.NaN;
  // The API server's minimum for a TokenRequest is 10 minutes.
  if (!(seconds >= 600 && seconds <= 86_400 * 7))
    throw new UserError(`--ttl ${text}: want a duration from 10m to 168h, like 30m or 2h`);
  return seconds;
}

/** ttl reads --ttl: a token lifetime like 30m or 2h. */
export function ttl(value: string): string {
  usage(() => parseTtl(value));
  return value;
}

/** usage turns a UserError from a shared parser into commander's error for the flag being read. */
function usage(check: () => unknown): void {
  try {
    check();
  } catch (e) {
    // Commander already names the flag and its value: keep only what is wrong, and the fix.
    const what = e instanceof UserError ? e.message.replace(/^--\S+ .*?: /, "") : undefined;
    if (e instanceof UserError) throw new InvalidArgumentError(`${what}${e.hint ? ` (${e.hint})` : ""}.`);
    throw e;
  }
}
