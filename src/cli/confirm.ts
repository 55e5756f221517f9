import { createInterface } from "node:readline/promises";
import { UserError } from "../errors.js";

/**
 * confirmOnTerminal asks `question` on the terminal (yes or y goes on); without a terminal
 * it throws a UserError saying `needs` (what the command does that needs asking) and that
 * --force goes on without asking.
 */
export async function confirmOnTerminal(question: string, needs: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new UserError(`${needs} and needs confirmation`, { hint: "run it on a terminal, or pass --force" });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
