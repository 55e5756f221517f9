/** Yes/no questions on the terminal, for commands that remove or replace things. */
import { createInterface } from "node:readline/promises";
import { UserError } from "../errors.js";

/** stdinIsTerminal says whether someone can answer a question (standard input is a terminal). */
export const stdinIsTerminal = (): boolean => process.stdin.isTTY === true;

/** askYesNo asks `question` on the terminal (stderr), and is true for y or yes; anything else is no. */
export async function askYesNo(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/**
 * confirmOnTerminal asks `question` on the terminal; without a terminal it throws a UserError
 * saying `needs` (what the command does that needs asking) and that --force goes on without
 * asking.
 */
export async function confirmOnTerminal(question: string, needs: string): Promise<boolean> {
  if (!stdinIsTerminal())
    throw new UserError(`${needs} and needs confirmation`, { hint: "run it on a terminal, or pass --force" });
  return askYesNo(question);
}
