// A real OpenSSH server for tests: listens on 127.0.0.1 only, on a free port, with its own
// host key, client key and config in a temp dir. Install it with
// scripts/dev-tools/install-deps.sh (Debian packages openssh-server, openssh-client).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect as netConnect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import type { SshEndpoint } from "../../src/remote/types.js";
import { freePort } from "./net.js";
import { outsideHermetic, unavailable } from "./prereq.js";
import { isExecutable } from "./tools.js";

const execFileP = promisify(execFile);

const SSHD = "/usr/sbin/sshd";
const KEYGEN = "/usr/bin/ssh-keygen";

export interface Sshd {
  readonly port: number;
  /** The user sshd lets in (the one running the tests: root in CI). */
  readonly user: string;
  /** Temp dir holding keys, config and pid file. */
  readonly dir: string;
  /** The client's private key (ed25519, OpenSSH format), listed in authorized_keys. */
  readonly clientKeyPath: string;
  /** The host's public key line (`ssh-ed25519 AAAA... comment`); changes with restart({ newHostKey }). */
  readonly hostKeyPub: string;
  /** The host's public key blob, as an SSH server sends it. */
  readonly hostKey: Buffer;
  /** user, 127.0.0.1, port and the client key. */
  endpoint(): SshEndpoint;
  /** Generates another client key (not authorized) and returns its path. */
  generateKey(name: string): Promise<string>;
  /** What sshd logged (LogLevel VERBOSE). */
  log(): string;
  /** Stops sshd and starts it again on the same port, with a fresh host key if asked. */
  restart(opts?: { newHostKey?: boolean }): Promise<void>;
  /** Stops the server process only (keys and config stay): the port refuses connections. */
  kill(): Promise<void>;
  /** Starts the server process again on the same port (after kill). */
  start(): Promise<void>;
  /** Stops sshd and removes the temp dir. */
  stop(): Promise<void>;
}

async function keygen(path: string, comment: string): Promise<void> {
  await execFileP(KEYGEN, ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]);
}

/** Whether 127.0.0.1:port answers with an SSH banner. */
function banner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = netConnect({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1_000, () => done(false));
    sock.once("error", () => done(false));
    sock.once("data", (b: Buffer) => done(b.toString("latin1").startsWith("SSH-")));
  });
}

/**
 * Starts sshd for one test and stops it (removing its files) when the test ends, passed or
 * not. When sshd is missing the test is skipped, except under CI=true, where it throws.
 */
export async function startSshd(t: TestContext): Promise<Sshd | undefined> {
  outsideHermetic("a real sshd");
  const missing = [SSHD, KEYGEN].filter((p) => !isExecutable(p));
  if (missing.length) {
    unavailable(t, `${missing.join(" and ")} not found (Debian packages openssh-server, openssh-client)`);
    return undefined;
  }

  const dir = await mkdtemp(join(tmpdir(), "kubelab-sshd-"));
  let child: ChildProcess | undefined;
  let logText = "";
  let stopped = false;

  const stopChild = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => c.kill("SIGKILL"), 5_000);
      c.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      c.kill("SIGTERM");
    });
  };

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopChild();
    await rm(dir, { recursive: true, force: true });
  };
  t.after(stop);

  try {
    const user = userInfo().username;
    const hostKeyPath = join(dir, "host_ed25519");
    const clientKeyPath = join(dir, "client_ed25519");
    await keygen(hostKeyPath, "kubelab-test-host");
    await keygen(clientKeyPath, "kubelab-test-client");
    await writeFile(join(dir, "authorized_keys"), await readFile(`${clientKeyPath}.pub`), { mode: 0o600 });
    const port = await freePort();
    const config = join(dir, "sshd_config");
    await writeFile(
      config,
      [
        "ListenAddress 127.0.0.1",
        `Port ${port}`,
        `HostKey ${hostKeyPath}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        "StrictModes no",
        "UsePAM no",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "MaxSessions 10",
        "LogLevel VERBOSE",
        "Subsystem sftp internal-sftp",
        "",
      ].join("\n"),
    );
    // The privilege separation directory.
    if (process.getuid?.() === 0) await mkdir("/run/sshd", { recursive: true, mode: 0o755 });

    let hostKeyPub = "";
    const readHostKey = async () => {
      hostKeyPub = (await readFile(`${hostKeyPath}.pub`, "utf8")).trim();
    };
    await readHostKey();

    const start = async () => {
      const c = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
      child = c;
      c.stderr?.on("data", (b: Buffer) => {
        logText += b.toString("utf8");
      });
      const deadline = Date.now() + 15_000;
      for (;;) {
        if (c.exitCode !== null || c.signalCode !== null) {
          throw new Error(`sshd exited (${c.exitCode ?? c.signalCode}) before listening:\n${logText}`);
        }
        if (await banner(port)) return;
        if (Date.now() > deadline) throw new Error(`sshd did not listen on 127.0.0.1:${port} within 15 s:\n${logText}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await start();

    return {
      port,
      user,
      dir,
      clientKeyPath,
      get hostKeyPub() {
        return hostKeyPub;
      },
      get hostKey() {
        return Buffer.from(hostKeyPub.split(/\s+/)[1] ?? "", "base64");
      },
      endpoint: () => ({ host: "127.0.0.1", port, user, privateKeyPath: clientKeyPath }),
      async generateKey(name: string) {
        const path = join(dir, name);
        await keygen(path, `kubelab-test-${name}`);
        return path;
      },
      log: () => logText,
      async restart(opts?: { newHostKey?: boolean }) {
        await stopChild();
        if (opts?.newHostKey) {
          await rm(hostKeyPath, { force: true });
          await rm(`${hostKeyPath}.pub`, { force: true });
          await keygen(hostKeyPath, "kubelab-test-host");
          await readHostKey();
        }
        await start();
      },
      kill: stopChild,
      start: () => (child ? Promise.resolve() : start()),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
