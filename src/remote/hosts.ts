/**
 * Running one step on many hosts: a concurrency limit, every host finishes its step (one
 * failure does not abort the others, so a node is never left half-way through a step), and
 * one error that lists every host that failed.
 */
import { CommandError } from "../errors.js";

/** A counting semaphore. */
export interface Limiter {
  /** run waits for a free slot, runs `fn` and frees the slot when it settles. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** acquire waits for a free slot and returns its release function (calling it twice is harmless). */
  acquire(): Promise<() => void>;
  /** Slots in use. */
  readonly active: number;
  /** Callers waiting for a slot. */
  readonly pending: number;
}

/** createLimiter returns a semaphore with `n` slots (n >= 1), served first come, first served. */
export function createLimiter(n: number): Limiter {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`limiter size must be a positive integer, got ${n}`);
  let active = 0;
  const waiting: (() => void)[] = [];

  function grant(): () => void {
    active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      active--;
      const next = waiting.shift();
      if (next) next();
    };
  }

  function acquire(): Promise<() => void> {
    if (active < n) return Promise.resolve(grant());
    return new Promise((resolve) => waiting.push(() => resolve(grant())));
  }

  return {
    acquire,
    async run<T>(fn: () => Promise<T>): Promise<T> {
      const release = await acquire();
      try {
        return await fn();
      } finally {
        release();
      }
    },
    get active() {
      return active;
    },
    get pending() {
      return waiting.length;
    },
  };
}

/** One host's failure. */
export interface HostFailure {
  readonly host: string;
  readonly error: unknown;
}

/** HostsError says which hosts a step failed on, and why (the failed command's output tail). */
export class HostsError extends Error {
  override readonly name = "HostsError";
  readonly failures: readonly HostFailure[];
  readonly total: number;

  constructor(failures: readonly HostFailure[], total: number) {
    const lines = failures.map((f) => ` - ${f.host}: ${describe(f.host, f.error)}\n`);
    super(`failed on ${failures.length} of ${total} hosts:\n${lines.join("")}`, { cause: failures[0]?.error });
    this.failures = failures;
    this.total = total;
  }
}

const indent = (text: string) =>
  text
    .split("\n")
    .map((l) => `     ${l}`)
    .join("\n");

/** One failure in a few lines: a CommandError as its command and output tail, other errors' first lines. */
function describe(host: string, error: unknown): string {
  if (error instanceof CommandError) {
    const head = `\`${error.argv.join(" ")}\` exited ${error.exitCode}`;
    return error.tail ? `${head}:\n${indent(error.tail)}` : head;
  }
  let message = error instanceof Error ? error.message : String(error);
  // Errors often start with the host's name already.
  if (message.startsWith(`${host}: `)) message = message.slice(host.length + 2);
  const [first = "", ...rest] = message.trimEnd().split("\n");
  const more = rest.slice(0, 5);
  return more.length ? `${first}\n${indent(more.join("\n"))}` : first;
}

/**
 * forEachHost runs `fn` for every item, at most `concurrency` (default 8) at a time, and
 * returns the results in the items' order. Every started item runs to its end even when
 * others fail; then, if any failed, it throws a HostsError listing them. When `signal` is
 * aborted, items not yet started are not started, and once the running ones have finished
 * the signal's reason is thrown. `fn` gets that signal (a never-aborted one without it).
 */
export async function forEachHost<T, R>(
  items: readonly T[],
  name: (t: T) => string,
  fn: (t: T, signal: AbortSignal) => Promise<R>,
  opts?: { concurrency?: number; signal?: AbortSignal },
): Promise<R[]> {
  const signal = opts?.signal ?? new AbortController().signal;
  const limit = createLimiter(opts?.concurrency ?? 8);
  const settled = await Promise.allSettled(
    items.map((item) =>
      limit.run(async () => {
        signal.throwIfAborted();
        return fn(item, signal);
      }),
    ),
  );
  signal.throwIfAborted();
  const failures: HostFailure[] = [];
  const results: R[] = [];
  settled.forEach((s, i) => {
    if (s.status === "fulfilled") results.push(s.value);
    else failures.push({ host: name(items[i] as T), error: s.reason });
  });
  if (failures.length) throw new HostsError(failures, items.length);
  return results;
}
