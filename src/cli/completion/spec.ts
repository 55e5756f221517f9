/**
 * What shell completion needs to know about the program, read from commander's own commands
 * and options: a command added to main.ts completes without an edit here.
 */
import type { CommandUnknownOpts, Option } from "@commander-js/extra-typings";

/** What an option's value completes to. */
export type ValueKind = "none" | "file" | "choices" | "cluster";

/** An option as completion sees it. */
export interface OptionSpec {
  /** Every spelling: `-f`, `--file`. */
  readonly flags: readonly string[];
  readonly description: string;
  readonly value: ValueKind;
  readonly choices: readonly string[];
}

/** A command as completion sees it; `path` is how it is typed, from `kubelab` on. */
export interface CommandSpec {
  readonly path: readonly string[];
  /** The name and every alias. */
  readonly names: readonly string[];
  readonly description: string;
  readonly options: readonly OptionSpec[];
  readonly commands: readonly CommandSpec[];
}

/** CLUSTER_NAME_FLAG is the option whose value is a recorded cluster's name (cluster-option.ts). */
export const CLUSTER_NAME_FLAG = "--name";

/** commandSpec walks a command and its subcommands. */
export function commandSpec(cmd: CommandUnknownOpts, parent: readonly string[] = []): CommandSpec {
  const path = [...parent, cmd.name()];
  const options = (cmd.options as readonly Option[]).filter((o) => !o.hidden).map(optionSpec);
  const help: OptionSpec = { flags: ["-h", "--help"], description: "show help", value: "none", choices: [] };
  return {
    path,
    names: [cmd.name(), ...cmd.aliases()],
    description: cmd.description(),
    options: [...options, help],
    commands: (cmd.commands as readonly CommandUnknownOpts[]).map((c) => commandSpec(c, path)),
  };
}

function optionSpec(o: Option): OptionSpec {
  const flags = [o.short, o.long].filter((f): f is string => typeof f === "string");
  const takesValue = o.required || o.optional;
  const choices = o.argChoices ?? [];
  const value: ValueKind = !takesValue
    ? "none"
    : o.long === CLUSTER_NAME_FLAG
      ? "cluster"
      : choices.length > 0
        ? "choices"
        : "file";
  return { flags, description: o.description, value, choices };
}

/** allCommands lists a command and every command below it, parents first. */
export function allCommands(spec: CommandSpec): CommandSpec[] {
  return [spec, ...spec.commands.flatMap(allCommands)];
}

/** CLUSTER_NAME_SED prints the recorded cluster names from the cluster index (its entries' `"name"` keys). */
export const CLUSTER_NAME_SED = 's/^ *"name": "\\(.*\\)",$/\\1/p';

/** CLUSTER_NAMES_SH is a POSIX command (bash and zsh alike) printing the recorded cluster names, without starting kubelab. */
export const CLUSTER_NAMES_SH = `sed -n '${CLUSTER_NAME_SED}' "\${XDG_STATE_HOME:-$HOME/.local/state}/kubelab/clusters.json" 2>/dev/null`;

/** commandKey names a command by its path, words separated by a space, as the scripts match it. */
export const commandKey = (path: readonly string[]): string => path.join(" ");

/**
 * casePattern is a shell `case` pattern for any of `words` typed after the command at `path`
 * (bash and zsh match "path word" alike).
 */
export const casePattern = (path: readonly string[], words: readonly string[]): string =>
  words.map((w) => `"${commandKey(path)} ${w}"`).join("|");
