/** Yes/no questions on the terminal, for commands that remove things. */
import { createInterface } from "node:readline/promises";

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
