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
