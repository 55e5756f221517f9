/** The bash completion script, from the program's command tree. */
import { allCommands, CLUSTER_NAMES_SH, type CommandSpec, casePattern, commandKey, type OptionSpec } from "./spec.js";

const key = commandKey;

/** valueReply is what bash offers for an option's value. */
function valueReply(o: OptionSpec): string {
  switch (o.value) {
    case "choices":
      return `COMPREPLY=($(compgen -W "${o.choices.join(" ")}" -- "$cur"))`;
    case "cluster":
      return `COMPREPLY=($(compgen -W "$(_kubelab_clusters)" -- "$cur"))`;
    default:
      return `COMPREPLY=($(compgen -f -- "$cur"))`;
  }
}

/** bashScript completes subcommands, options and option values; anything else falls back to file names. */
export function bashScript(program: CommandSpec): string {
  const name = program.path[0] ?? "kubelab";
  const commands = allCommands(program);
  const steps = commands.flatMap((c) =>
    c.commands.map((s) => `      ${casePattern(c.path, s.names)}) path="${key(s.path)}" ;;`),
  );
  const values = commands.flatMap((c) =>
    c.options
      .filter((o) => o.value !== "none")
      .map((o) => `    ${casePattern(c.path, o.flags)}) ${valueReply(o)}; return 0 ;;`),
  );
  const words = commands.map(
    (c) =>
      `    "${key(c.path)}") subs="${c.commands.map((s) => s.names[0]).join(" ")}" flags="${c.options.flatMap((o) => o.flags).join(" ")}" ;;`,
  );
  return `# bash completion for kubelab (kubelab completion bash)
_kubelab_clusters() { ${CLUSTER_NAMES_SH}; }
_kubelab() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="${name}" subs="" flags="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "$path \${COMP_WORDS[i]}" in
${steps.join("\n")}
    esac
  done
  case "$path $prev" in
${values.join("\n")}
  esac
  case "$path" in
${words.join("\n")}
  esac
  # Options after a dash; otherwise subcommands, or file names (-o default) where there are none.
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$flags" -- "$cur")); else COMPREPLY=($(compgen -W "$subs" -- "$cur")); fi
}
complete -o default -F _kubelab ${name}
`;
}
