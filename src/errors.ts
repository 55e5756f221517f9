/**
 * Two kinds of failure, one place that catches them (src/cli/main.ts): a UserError is
 * something the user can fix (exit 2, no stack trace); anything else is a bug or an
 * environment failure (exit 1, with details).
 */

/** An error caused by input the user can correct: bad file, bad flag, missing prerequisite. */
export class UserError extends Error {
  override readonly name = "UserError";
  /** Exit code for the CLI: 2 = invalid input or usage. */
  readonly exitCode: number;
  /** What to do about it. */
  readonly hint?: string;
  /** Lines printed under the message, such as every problem found in a file. */
  readonly details?: string;

  constructor(message: string, options?: { cause?: unknown; hint?: string; exitCode?: number; details?: string }) {
    super(message, { cause: options?.cause });
    this.hint = options?.hint;
    this.details = options?.details;
    this.exitCode = options?.exitCode ?? 2;
  }
}

/** A command that failed on a node (or on this host), with what is needed to understand why. */
export class CommandError extends Error {
  override readonly name = "CommandError";
  readonly host: string;
  readonly argv: readonly string[];
  readonly exitCode: number;
  /** The last lines of the command's output (stderr, else stdout). */
  readonly tail: string;

  constructor(host: string, argv: readonly string[], exitCode: number, output: string) {
    const tail = output.trimEnd().split("\n").slice(-20).join("\n");
    super(`${host}: \`${argv.join(" ")}\` exited ${exitCode}${tail ? `:\n${tail}` : ""}`);
    this.host = host;
    this.argv = argv;
    this.exitCode = exitCode;
    this.tail = tail;
  }
}

/**
 * DiskFullError is a write on a node that found its disk full: the message names the node and
 * what was being written or installed, and its second line is the fix.
 */
export class DiskFullError extends Error {
  override readonly name = "DiskFullError";
  readonly node: string;
  readonly doing: string;

  constructor(node: string, doing: string, cause: unknown) {
    super(
      `${node}: no space left on device while ${doing}\n` +
        `fix: free space on ${node} (df -h shows which filesystem is full), then run kubelab up again; ` +
        "keep its disk under 85% full, where the kubelet starts removing images (below 10% free it evicts pods)",
      { cause },
    );
    this.node = node;
    this.doing = doing;
  }
}

/** A wait for a condition (API ready, nodes registered) that gave up; the message says what was missing. */
export class WaitTimeout extends Error {
  override readonly name = "WaitTimeout";
}

/** cut shortens a value echoed back in a message to `max` characters, saying how much was left out. */
export function cut(value: string, max = 80): string {
  return value.length <= max ? value : `${value.slice(0, max)}… (${value.length - max} more characters)`;
}

/** Socket errors of a server that is (re)starting or a network that blinked: worth asking again. */
const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/**
 * isTransient says whether a failed request is worth sending again: the connection was
 * refused, reset or timed out (client-node's errors carry the socket error as `cause`).
 */
export function isTransient(e: unknown): boolean {
  for (
    let err = e as { code?: unknown; cause?: unknown; message?: unknown } | undefined, depth = 0;
    err && depth < 4;
    depth++
  ) {
    if (typeof err.code === "string" && TRANSIENT_CODES.has(err.code)) return true;
    if (typeof err.message === "string" && /socket hang up|timed out after \d+ s/.test(err.message)) return true;
    err = err.cause as typeof err;
  }
  return false;
}

/** Characters that would act on a terminal rather than show: controls, and bidirectional overrides. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is matched
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * printable escapes, as \uXXXX, the characters of a value echoed back that a terminal would act
 * on (an escape sequence, a bell, text reversed by a bidirectional override) instead of showing.
 */
export function printable(value: string): string {
  return value.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
