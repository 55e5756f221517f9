/**
 * Running the vagrant CLI for one cluster. Every cluster has its own Vagrantfile in its
 * cluster directory, and vagrant is pointed there by VAGRANT_CWD, whatever the process's
 * working directory. A failed command throws the UserError errors.ts makes of its output,
 * with the full output kept in a run log under the cluster directory.
 */
import { join, resolve } from "node:path";
import { execa } from "execa";
import { UserError } from "../../errors.js";
import { openRunLog } from "../../plan/cluster-dir.js";
import { type VagrantOutput, vagrantError } from "./errors.js";

/** The files vagrant keeps in the cluster directory: the Vagrantfile kubelab writes, and vagrant's own state. */
export const vagrantPaths = (clusterDir: string) => ({
  vagrantfile: join(clusterDir, "Vagrantfile"),
  state: join(clusterDir, ".vagrant"),
});

/**
 * vagrantEnv is the environment vagrant runs with: ours (VAGRANT_HOME, LIBVIRT_DEFAULT_URI,
 * proxies pass through), pointed at the cluster directory. Left out: VAGRANT_DOTFILE_PATH,
 * which would move the machines' state out of the cluster directory (shared by every cluster
 * when absolute), and VAGRANT_DEFAULT_PROVIDER: kubelab names the provider on `up`, and for
 * machines not created yet a default provider that cannot run here only makes `status` fail.
 * The update check is off unless asked for (it is a network call on every command).
 */
export function vagrantEnv(clusterDir: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { VAGRANT_DOTFILE_PATH: _dotfile, VAGRANT_DEFAULT_PROVIDER: _provider, ...rest } = base;
  return {
    VAGRANT_CHECKPOINT_DISABLE: "1",
    ...rest,
    VAGRANT_CWD: resolve(clusterDir),
    VAGRANT_VAGRANTFILE: "Vagrantfile",
  };
}

/** Options of {@link runVagrant}. */
export interface VagrantRunOptions {
  readonly clusterDir: string;
  /** The environment to start from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  /** Kill vagrant after this long; none by default (a box download takes as long as it takes). */
  readonly timeoutMs?: number;
  /**
   * Called with each line of output (stdout and stderr) as it comes. A command run with it
   * logs its whole output to a run log while it runs; without it, only when it fails.
   */
  readonly onLine?: (line: string) => void;
}

/** A vagrant command that succeeded. */
export interface VagrantRun extends VagrantOutput {
  /** The run log of a streamed command. */
  readonly logPath?: string;
}

/**
 * runVagrant runs `vagrant <argv>` for the cluster and returns its output. When it fails it
 * throws a UserError: the translated failure, or vagrant missing, or the timeout; an abort
 * through the signal throws the signal's reason.
 */
export async function runVagrant(argv: readonly string[], opts: VagrantRunOptions): Promise<VagrantRun> {
  const command = `vagrant ${argv.join(" ")}`;
  const header = [`$ ${command}`, `(VAGRANT_CWD=${resolve(opts.clusterDir)})`];
  const log = opts.onLine ? await openRunLog(opts.clusterDir, `vagrant-${argv[0]}`) : undefined;
  for (const line of header) log?.write(line);

  const child = execa("vagrant", argv, {
    env: vagrantEnv(opts.clusterDir, opts.env),
    extendEnv: false,
    stdin: "ignore",
    all: true,
    reject: false,
    timeout: opts.timeoutMs,
    cancelSignal: opts.signal,
  });
  if (opts.onLine) {
    for await (const line of child.iterable({ from: "all" })) {
      log?.write(line);
      opts.onLine(line);
    }
  }
  const r = await child;
  await log?.flush();
  const out = { stdout: r.stdout, stderr: r.stderr };
  if (!r.failed) return { ...out, logPath: log?.path };

  if (r.isCanceled) throw opts.signal?.reason ?? new Error(`${command}: aborted`);
  if (r.code === "ENOENT")
    throw new UserError("vagrant is not installed: there is no vagrant command on PATH", {
      hint: "install Vagrant 2.3 or newer (Debian, Ubuntu: sudo apt install vagrant vagrant-libvirt), or use another provider",
    });
  const logPath = log?.path ?? (await logOutput(opts.clusterDir, argv, header, out));
  if (r.timedOut)
    throw new UserError(`${command} did not finish within ${(opts.timeoutMs ?? 0) / 1000} s`, {
      hint: "vagrant or a machine hangs: see what it last printed, then run again",
      exitCode: 1,
      details: `vagrant's full output: ${logPath}`,
    });
  throw vagrantError(out, { argv, exitCode: r.exitCode ?? -1, logPath });
}

/** logOutput writes a finished command's output to a new run log and returns its path. */
async function logOutput(
  clusterDir: string,
  argv: readonly string[],
  header: readonly string[],
  out: VagrantOutput,
): Promise<string> {
  const log = await openRunLog(clusterDir, `vagrant-${argv[0]}`);
  for (const line of [...header, "--- stdout", ...out.stdout.split("\n"), "--- stderr", ...out.stderr.split("\n")])
    log.write(line);
  await log.flush();
  return log.path;
}
