import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { bashScript } from "../completion/bash.js";
import { fishScript } from "../completion/fish.js";
import { commandSpec } from "../completion/spec.js";
import { zshScript } from "../completion/zsh.js";
import type { Io } from "../io.js";

/** The shells kubelab writes completion scripts for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** completion prints the completion script of `shell` for the program's commands as they are declared. */
export function completion(shell: (typeof SHELLS)[number], program: CommandUnknownOpts, io: Io): void {
  const spec = commandSpec(program);
  io.out({ bash: bashScript, zsh: zshScript, fish: fishScript }[shell](spec));
}
