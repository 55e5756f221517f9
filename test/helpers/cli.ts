// The kubelab CLI run in-process, for end-to-end tests: exit code and what it printed.
import { run } from "../../src/cli/main.js";

/** kubelab runs `kubelab ...argv` and collects stdout and stderr, one line per print. */
export async function kubelab(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
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
  });
  return { code, out, err };
}
