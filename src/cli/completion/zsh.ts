/** The zsh completion script, from the program's command tree; subcommands and options come with their descriptions. */
import { allCommands, CLUSTER_NAMES_SH, type CommandSpec, casePattern, commandKey, type OptionSpec } from "./spec.js";

const key = commandKey;
/** quote makes a single-quoted zsh word. */
const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
const described = (name: string, description: string) => quote(`${name.replace(/:/g, "\\:")}:${description}`);

function valueReply(o: OptionSpec, name: string): string {
  switch (o.value) {
    case "choices":
      return `compadd -- ${o.choices.map(quote).join(" ")}`;
    case "cluster":
      return `compadd -- \${(f)"$(_${name}_clusters)"}`;
    default:
      return "_files";
  }
}

/** zshScript is a #compdef function; `source <(kubelab completion zsh)` or a file on $fpath named _kubelab. */
export function zshScript(program: CommandSpec): string {
  const name = program.path[0] ?? "kubelab";
  const commands = allCommands(program);
  const steps = commands.flatMap((c) =>
    c.commands.map((s) => `      (${casePattern(c.path, s.names)}) at="${key(s.path)}" ;;`),
  );
  const values = commands.flatMap((c) =>
    c.options
      .filter((o) => o.value !== "none")
      .map((o) => `    (${casePattern(c.path, o.flags)}) ${valueReply(o, name)}; return ;;`),
  );
  const lists = commands.map((c) => {
    const subs = c.commands.map((s) => described(s.names[0] ?? "", s.description)).join(" ");
    const flags = c.options.flatMap((o) => o.flags.map((f) => described(f, o.description))).join(" ");
    return `    ("${key(c.path)}") subs=(${subs}) flags=(${flags}) ;;`;
  });
  return `#compdef ${name}
# zsh completion for ${name} (${name} completion zsh)
_${name}_clusters() { ${CLUSTER_NAMES_SH}; }
_${name}() {
  local at="${name}" prev="\${words[CURRENT-1]}" i
  local -a subs flags
  for ((i = 2; i < CURRENT; i++)); do
    case "$at \${words[i]}" in
${steps.join("\n")}
    esac
  done
  case "$at $prev" in
${values.join("\n")}
  esac
  case "$at" in
${lists.join("\n")}
  esac
  if [[ "\${words[CURRENT]}" == -* ]]; then
    _describe -t options option flags
  elif (( \${#subs} )); then
    _describe -t commands command subs
  else
    _files
  fi
}
compdef _${name} ${name}
`;
}
