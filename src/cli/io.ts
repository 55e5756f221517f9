import { readProcessStdin, type StdinReader } from "../config/load.js";

/** Where commands write: injectable so tests capture output without spawning processes. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** The terminal live progress is drawn on, when stderr is one (never under CI=true). */
  readonly terminal?: NodeJS.WriteStream;
  /** Reads standard input, for `-f -` (the process's own when absent). */
  readonly stdin?: StdinReader;
  /** The width `out` is shown in, when it is a terminal; undefined under a pipe (nothing is cut then). */
  readonly columns?: number;
  /** --quiet: only errors and the result a script reads; notes, progress and warnings are left out. */
  readonly quiet?: boolean;
  /** Aborted when the user interrupts the run (Ctrl-C, SIGTERM): commands stop and clean up. */
  readonly signal?: AbortSignal;
}

/** Standard input is read once: a second look (doctor reads the file twice) gets the same text. */
let stdinText: Promise<string> | undefined;

/** The process's own streams. */
export const processIo: Io = {
  out: (text) => void process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
  err: (text) => void process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
  terminal: process.stderr.isTTY && process.env.CI !== "true" ? process.stderr : undefined,
  stdin: () => {
    stdinText ??= readProcessStdin();
    return stdinText;
  },
  // Read when printing, so a resized terminal is measured anew.
  get columns() {
    return process.stdout.isTTY ? process.stdout.columns : undefined;
  },
};

/** note prints what a person reads but a script does not need (left out under --quiet). */
export function note(io: Io, text: string): void {
  if (!io.quiet) io.out(text);
}
