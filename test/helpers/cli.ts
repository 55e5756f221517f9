// The kubelab CLI run in-process, for end-to-end tests: exit code and what it printed.
import { run } from "../../src/cli/main.js";

/** What a test sets about the terminal kubelab runs in. */
export interface CliEnv {
  /** What standard input holds (`-f -`); empty when not set. */
  readonly stdin?: string;
  /** The terminal's width; unset, stdout is a pipe. */
  readonly columns?: number;
}

/** kubelab runs `kubelab ...argv` and collects stdout and stderr, one line per print. */
export async function kubelab(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return kubelabIn({}, ...argv);
}

/** kubelabIn is kubelab with standard input and the terminal's width set by the test. */
export async function kubelabIn(env: CliEnv, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const line = (s: string) => (s.endsWith("\n") ? s : `${s}\n`);
  const code = await run(argv, {
    out: (s) => {
      out += line(s);
    },
    err: (s) => {
      err += line(s);
    },
    stdin: async () => env.stdin ?? "",
    columns: env.columns,
  });
  return { code, out, err };
}
