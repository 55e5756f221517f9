import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { bashScript } from "../completion/bash.js";
import { fishScript } from "../completion/fish.js";
import { commandSpec } from "../completion/spec.js";
import { zshScript } from "../completion/zsh.js";
import type { Io } from "../io.js";

const SCRIPTS = { bash: bashScript, zsh: zshScript, fish: fishScript };

/** completion prints the completion script of `shell` for the program's commands as they are declared. */
export function completion(shell: keyof typeof SCRIPTS, program: CommandUnknownOpts, io: Io): void {
  const spec = commandSpec(program);
  io.out(SCRIPTS[shell](spec));
}
