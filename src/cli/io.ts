/** Where commands write: injectable so tests capture output without spawning processes. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** The terminal live progress is drawn on, when stderr is one (never under CI=true). */
  readonly terminal?: NodeJS.WriteStream;
}

/** The process's own streams. */
export const processIo: Io = {
  out: (text) => void process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
  err: (text) => void process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
  terminal: process.stderr.isTTY && process.env.CI !== "true" ? process.stderr : undefined,
};
