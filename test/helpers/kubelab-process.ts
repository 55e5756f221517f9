// kubelab as a process of its own, for tests that send it signals as a terminal would
// (test/helpers/kubelab-bin.ts from the sources, CI=true so it draws no live progress).
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = join(ROOT, "test", "helpers", "kubelab-bin.ts");

/** A kubelab process: its exit (code, or the signal that ended it) and what it wrote to stderr so far. */
export interface KubelabProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  err(): string;
}

/** spawnKubelab starts `kubelab ...argv` from the sources with `env` added to the test's own. */
export function spawnKubelab(argv: readonly string[], env: NodeJS.ProcessEnv = {}): KubelabProcess {
  const child = spawn(process.execPath, ["--import", "tsx", BIN, ...argv], {
    cwd: ROOT,
    env: { ...process.env, ...env, CI: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, err: () => err };
}

/** killIfRunning ends a process a test started and no longer needs (a failed step's leftover). */
export function killIfRunning(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}
