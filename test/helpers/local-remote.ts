/**
 * A Remote that runs commands on this host (no SSH): for testing node-side scripts and
 * phases against a real Debian system without a machine. Same contract as the SSH Remote.
 */
import { spawn } from "node:child_process";
import { CommandError } from "../../src/errors.js";
import type { ExecOptions, ExecResult, Remote } from "../../src/remote/types.js";
import { outsideHermetic } from "./prereq.js";

/** localRemote runs on this host for real (integration tier only). */
export function localRemote(node = "localhost"): Remote {
  outsideHermetic("commands on this host (localRemote)");
  const exec = (argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> =>
    new Promise((resolve, reject) => {
      const [cmd, ...args] = argv;
      if (!cmd) return reject(new Error("empty argv"));
      const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], timeout: opts.timeoutMs ?? 300_000 });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => {
        stdout += d;
      });
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? 124, stdout, stderr }));
      // A command that exits without reading its stdin closes the pipe first: EPIPE on our
      // write is then expected, and the exit code says how the command went.
      child.stdin.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code !== "EPIPE") reject(e);
      });
      child.stdin.end(opts.stdin ?? "");
    });
  return {
    node,
    exec,
    async run(argv, opts) {
      const r = await exec(argv, opts);
      if (r.code !== 0) throw new CommandError(node, argv, r.code, r.stderr || r.stdout);
      return r.stdout;
    },
    async readFile(path) {
      const r = await exec(["cat", "--", path]);
      return r.code === 0 ? r.stdout : undefined;
    },
    async writeFile() {
      throw new Error("localRemote is read-only: it must not change this host");
    },
    async close() {},
  };
}
