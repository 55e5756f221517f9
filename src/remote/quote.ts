/**
 * Building command lines. SSH sends one string that the remote login shell parses, so every
 * command kubelab runs on a node is an argument array turned into a line here, with each
 * argument reaching the program exactly as given.
 */

/** Words that may stay unquoted: nothing in them is special to a POSIX shell (or bash). */
const BARE = /^[A-Za-z0-9_./:=@%+,-]+$/;

/** Words a shell treats specially in command position (bash's list: a superset of POSIX's). */
const RESERVED = new Set([
  "case",
  "coproc",
  "do",
  "done",
  "elif",
  "else",
  "esac",
  "fi",
  "for",
  "function",
  "if",
  "in",
  "select",
  "then",
  "time",
  "until",
  "while",
]);

/** quoteWord quotes one argument; `first` is whether it stands in command position. */
function quoteWord(word: string, first: boolean): string {
  if (word.includes("\0")) throw new Error("a command argument contains a NUL byte, which no command line can carry");
  // In command position `a=b` would be an assignment and `if`, `time`, ... keywords.
  const bare = BARE.test(word) && !(first && (word.includes("=") || RESERVED.has(word)));
  return bare ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * shellQuote joins `argv` into a POSIX shell command line that runs exactly `argv`: each
 * word is single-quoted (a `'` inside becomes `'\''`) unless it is made only of
 * `[A-Za-z0-9_./:=@%+,-]` (and, as the first word, is neither an assignment nor a keyword).
 * Throws on a NUL byte, which cannot be passed to a program.
 */
export function shellQuote(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error("empty command");
  return argv.map((w, i) => quoteWord(w, i === 0)).join(" ");
}
