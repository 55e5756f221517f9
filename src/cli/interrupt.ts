/**
 * Ctrl-C and SIGTERM: the run's AbortSignal is aborted, so remote commands stop, temp files
 * and the cluster lock go in their finally blocks, and the command ends as interrupted (exit
 * 128 + the signal's number: 130 for Ctrl-C). Should it not have ended a few seconds later,
 * or should a second signal come, the process exits at once; the exit hook
 * (plan/remove-on-exit.ts) still removes the lock and the secrets' temp files then.
 */
import { constants } from "node:os";

/** How long the run may take to unwind after the first signal. Under 5 s in all. */
const GRACE_MS = 4_000;

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * Commands that stop on the run's signal (the ones holding the cluster lock). Others keep
 * the default: Ctrl-C ends them at once, as there is nothing of theirs to clean up.
 */
const STOPPABLE = new Set(["up", "down", "image", "stop", "start", "etcd", "snapshot"]);

/** Commands whose next run picks up where an interrupted one stopped. */
const RESUMABLE = new Set(["up", "down", "stop", "start"]);

/** The command of `kubelab ARGV`: its first word that is no option. */
const commandOf = (argv: readonly string[]) => argv.find((a) => !a.startsWith("-"));

/** stopsOnInterrupt tells whether `kubelab ARGV` stops cleanly on Ctrl-C (so it is worth catching). */
export function stopsOnInterrupt(argv: readonly string[]): boolean {
  return STOPPABLE.has(commandOf(argv) ?? "");
}

/** interruptedLine is what an interrupted `kubelab ARGV` ends with. */
export function interruptedLine(argv: readonly string[]): string {
  const command = commandOf(argv) ?? "";
  return RESUMABLE.has(command) ? `interrupted; the next kubelab ${command} continues from here` : "interrupted";
}

/** The process's signals, caught for one run. */
export interface Interrupt {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** end says the run ended interrupted (once) and returns its exit code. */
  end(): number;
  /** dispose gives the signals back to their default handling. */
  dispose(): void;
}

/** Stand-ins for the process, in tests. */
export interface InterruptDeps {
  readonly exit: (code: number) => void;
  readonly graceMs: number;
  /** Where the signals arrive. */
  readonly events: Pick<NodeJS.EventEmitter, "on" | "off">;
}

/**
 * catchInterrupts catches SIGINT and SIGTERM for one run: the first aborts the returned
 * signal; a second one, or the grace period running out, prints `line` and exits.
 */
export function catchInterrupts(
  line: string,
  write: (text: string) => void,
  deps: InterruptDeps = { exit: (code) => process.exit(code), graceMs: GRACE_MS, events: process },
): Interrupt {
  const controller = new AbortController();
  let code = 130;
  let said = false;
  const end = () => {
    if (!said) write(line);
    said = true;
    return code;
  };
  const now = () => deps.exit(end());
  const on = (name: (typeof SIGNALS)[number]) => {
    if (controller.signal.aborted) return now();
    code = 128 + constants.signals[name];
    controller.abort(new DOMException(`interrupted by ${name}`, "AbortError"));
    // unref: a run that ends in time lets the process exit without waiting for it.
    setTimeout(now, deps.graceMs).unref();
  };
  for (const name of SIGNALS) deps.events.on(name, on);
  return {
    signal: controller.signal,
    end,
    // The grace timer stays: should anything keep the process alive after an interrupted
    // run returned, it still ends in time.
    dispose: () => {
      for (const name of SIGNALS) deps.events.off(name, on);
    },
  };
}
