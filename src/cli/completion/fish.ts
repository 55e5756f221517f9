/** The fish completion script, from the program's command tree. */
import { allCommands, CLUSTER_NAME_SED, type CommandSpec, commandKey, type OptionSpec } from "./spec.js";

const key = commandKey;
/** quote makes a single-quoted fish string. */
const quote = (s: string) => `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`;

function optionLine(name: string, at: string, o: OptionSpec): string {
  const flags = o.flags
    .map((f) => (f.startsWith("--") ? `-l ${f.slice(2)}` : f.length === 2 ? `-s ${f.slice(1)}` : `-o ${f.slice(1)}`))
    .join(" ");
  const value =
    o.value === "none"
      ? ""
      : o.value === "file"
        ? " -r -F"
        : o.value === "choices"
          ? ` -x -a ${quote(o.choices.join(" "))}`
          : ` -x -a ${quote(`(__${name}_clusters)`)}`;
  return `complete -c ${name} -n ${quote(`__${name}_at ${quote(at)}`)} ${flags}${value} -d ${quote(o.description)}`;
}

/** fishScript: `kubelab completion fish > ~/.config/fish/completions/kubelab.fish`. */
export function fishScript(program: CommandSpec): string {
  const name = program.path[0] ?? "kubelab";
  const commands = allCommands(program);
  const steps = commands.flatMap((c) =>
    c.commands.map(
      (s) =>
        `      case ${s.names.map((n) => quote(`${key(c.path)} ${n}`)).join(" ")}\n        set at ${quote(key(s.path))}`,
    ),
  );
  const lines = commands.flatMap((c) => [
    ...c.commands.map(
      (s) =>
        `complete -c ${name} -n ${quote(`__${name}_at ${quote(key(c.path))}`)} -a ${quote(s.names[0] ?? "")} -d ${quote(s.description)}`,
    ),
    ...c.options.map((o) => optionLine(name, key(c.path), o)),
  ]);
  return `# fish completion for ${name} (${name} completion fish)
function __${name}_at --description 'true when the command line is at this ${name} command'
    set -l at ${name}
    for w in (commandline -opc)[2..-1]
        switch "$at $w"
${steps.join("\n")}
        end
    end
    test "$at" = "$argv[1]"
end
function __${name}_clusters --description 'the clusters made on this machine'
    set -l state $HOME/.local/state
    set -q XDG_STATE_HOME; and set state $XDG_STATE_HOME
    sed -n ${quote(CLUSTER_NAME_SED)} $state/kubelab/clusters.json 2>/dev/null
end
complete -c ${name} -f
${lines.join("\n")}
`;
}
