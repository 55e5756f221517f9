/**
 * Failures of commands that keep a run log (up, image bake): the error is written into the
 * log, and the CLI prints the log's path with it, so what led to the error is one file away.
 */
import { UserError } from "../errors.js";

/** The part of a run log (plan/cluster-dir.ts openRunLog) a failure needs. */
export interface RunLog {
  readonly path: string;
  write(line: string): void;
  flush(): Promise<void>;
}

/** The log each failed command's error was written into. */
const logOfError = new WeakMap<object, string>();

/** logFailures runs `fn`; when it throws, the error goes into `log` and remembers the log's path. */
export async function logFailures<T>(log: RunLog, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    log.write(errorText(e));
    // A log that cannot be written must not hide the error it was to record.
    await log.flush().catch(() => {});
    if (typeof e === "object" && e !== null) logOfError.set(e, log.path);
    throw e;
  }
}

/** runLogOf is the path of the run log an error was written into, if any. */
export function runLogOf(e: unknown): string | undefined {
  return typeof e === "object" && e !== null ? logOfError.get(e) : undefined;
}

/** errorText is an error as the log keeps it: a user's mistake as printed, anything else with its stack. */
function errorText(e: unknown): string {
  if (e instanceof UserError) {
    return `${e.details ? `${e.details}\n` : ""}error: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ""}`;
  }
  if (e instanceof Error) return `error: ${e.message.trimEnd()}${e.stack ? `\n${e.stack}` : ""}`;
  return `error: ${String(e)}`;
}
