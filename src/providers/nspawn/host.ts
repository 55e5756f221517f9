/**
 * Small host helpers for the nspawn provider: run a command on this host (argument arrays,
 * never a shell), paths of the provider's state, process liveness from /proc.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { CommandError, UserError } from "../../errors.js";
import { hostEnv, which } from "../host.js";

/** Where machines live: /var/lib/kubelab/nspawn/<cluster>/<node>/. KUBELAB_NSPAWN_DIR overrides (tests). */
export function machinesRoot(): string {
  return process.env.KUBELAB_NSPAWN_DIR || "/var/lib/kubelab/nspawn";
}

/** The image cache: ${XDG_CACHE_HOME:-~/.cache}/kubelab/images. */
export function imagesRoot(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "kubelab", "images");
}

export interface RunOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

/** run runs a host command and returns stdout; a non-zero exit throws a CommandError with the output's tail. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    // By absolute path: a non-login root shell may have no /usr/sbin (ip, debootstrap) on PATH.
    const child = execFile(
      cmd.includes("/") ? cmd : (which(cmd) ?? cmd),
      args,
      { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 120_000, env: opts.env ?? hostEnv() },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const code = typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1;
        reject(new CommandError("localhost", [cmd, ...args], code, `${stderr}${stderr ? "" : stdout || err.message}`));
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** tryRun is run that returns undefined instead of throwing. */
export async function tryRun(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string | undefined> {
  try {
    return await run(cmd, args, opts);
  } catch {
    return undefined;
  }
}

/** requireTools throws a UserError naming the Debian packages that provide the missing tools. */
export function requireTools(tools: Readonly<Record<string, string>>): void {
  if (process.getuid?.() !== 0) {
    throw new UserError("the nspawn provider needs root", { hint: "run kubelab as root (sudo)" });
  }
  const missing = Object.entries(tools).filter(([tool]) => !which(tool));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map(([, pkg]) => pkg))];
  throw new UserError(`the nspawn provider needs ${missing.map(([t]) => t).join(", ")}`, {
    hint: `install them: apt-get install ${packages.join(" ")}`,
  });
}

/** cmdline returns a process's arguments, or undefined when it is gone (or a zombie, whose cmdline is empty). */
export function cmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (raw === "") return undefined;
    return raw.replace(/\0$/, "").split("\0");
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** errno code of a Node error, e.g. "ENOENT". */
export function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export interface MountEntry {
  readonly mountPoint: string;
  readonly fsType: string;
  readonly options: string;
}

/** /proc/mounts escapes space, tab, newline and backslash as octal. */
export function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

export function readMounts(path = "/proc/self/mounts"): MountEntry[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [, mountPoint = "", fsType = "", options = ""] = line.split(" ");
      return { mountPoint: unescapeMount(mountPoint), fsType, options };
    });
}

/** mountsUnder lists the host's mount points at or below dir, deepest first. */
export function mountsUnder(dir: string): string[] {
  return readMounts()
    .map((m) => m.mountPoint)
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** unmountUnder unmounts whatever is left mounted below dir (lazily when busy) and checks none is left. */
export async function unmountUnder(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) {
    if ((await tryRun("umount", [m])) === undefined) await tryRun("umount", ["-l", m]);
  }
  const left = mountsUnder(dir);
  if (left.length > 0) throw new Error(`still mounted under ${dir}: ${left.join(", ")}`);
}
