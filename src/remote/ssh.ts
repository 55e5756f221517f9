/**
 * Remote over SSH (ssh2, pure JS). One connection per node, optionally through a jump host,
 * with host keys checked against the cluster's known_hosts file.
 *
 * - Commands are argument arrays quoted with shellQuote: the node's login shell must be a
 *   POSIX shell (sh, bash, dash, zsh). As a user other than root, each command (by default)
 *   runs through `sudo -n --`: passwordless sudo is required, never prompted for.
 * - At most `maxChannels` (default 8) commands run at once on a connection: OpenSSH allows
 *   10 sessions per connection (MaxSessions) and refuses more; extra ones wait their turn.
 * - Connecting is retried with backoff while the node cannot be reached yet (refused, timed
 *   out, handshake cut short); a failed authentication or a changed host key is final.
 * - A dropped connection is not re-established: commands then fail and the caller connects
 *   again (e.g. after rebooting a node).
 * - Files are written through one SFTP session per connection, opened on first use:
 *   temp file + rename, so readers never see half a file (see writeFile).
 * - stdin is never logged or put in messages: it may hold secrets.
 */

import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { constants as osConstants } from "node:os";
import { basename, dirname, isAbsolute } from "node:path";
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper, type Stats } from "ssh2";
import { CommandError, UserError } from "../errors.js";
import { createLimiter, type Limiter } from "./hosts.js";
import { type HostKeyPolicy, verifyHostKey } from "./known-hosts.js";
import { shellQuote } from "./quote.js";
import type { ExecOptions, ExecResult, Remote, SshEndpoint } from "./types.js";

export type { HostKeyPolicy } from "./known-hosts.js";

export interface ConnectOptions {
  /** The cluster's known_hosts file (`<clusterDir>/known_hosts`); jump hosts are checked there too. */
  readonly knownHostsFile: string;
  /** See known-hosts.ts: "trust-on-first-use" normally, "accept-new" for --accept-new-host-keys. */
  readonly hostKeyPolicy: HostKeyPolicy;
  /** Limit of one attempt, from TCP connect to authenticated. @default 20000 */
  readonly connectTimeoutMs?: number;
  /** How often a failed attempt is retried (backoff 200 ms doubling up to 3 s). @default 4 */
  readonly retries?: number;
  /** Most channels (commands) open at once on the connection. @default 8 */
  readonly maxChannels?: number;
  /** Aborts connecting (an established connection is not affected). */
  readonly signal?: AbortSignal;
  /** Progress lines (a retried attempt). */
  readonly log?: (line: string) => void;
}

/** The node could not be reached, even after retries. */
export class SshConnectError extends Error {
  override readonly name = "SshConnectError";
  readonly node: string;
  readonly attempts: number;
  constructor(message: string, node: string, attempts: number, cause: unknown) {
    super(message, { cause });
    this.node = node;
    this.attempts = attempts;
  }
}

const DEFAULT_TIMEOUT_MS = 300_000;
const BACKOFF_FIRST_MS = 200;
const BACKOFF_MAX_MS = 3_000;
/** How long a killed or closing channel may take to close before its slot is given back anyway. */
const CLOSE_GRACE_MS = 10_000;
/** How long after the time limit the client closes a command the node has not ended itself. */
const BACKSTOP_MS = 10_000;

/**
 * The atomic file write as root for a login user who is not root: the content (uploaded by
 * SFTP to a file of the user's, $3) copied into a hidden temp file beside the target (hidden
 * so that directory readers such as kubelet's static pod manifests skip it), mode set, then
 * renamed over the target. $1 = path, $2 = octal mode; nothing is interpolated.
 */
const WRITE_FILE_SCRIPT = [
  "set -e",
  'd=$(dirname -- "$1")',
  'mkdir -p -- "$d"',
  'tmp=$(mktemp "$d/.${1##*/}.XXXXXX")',
  "trap 'rm -f -- \"$tmp\"' EXIT",
  'cat -- "$3" > "$tmp"',
  'chmod -- "$2" "$tmp"',
  'mv -f -- "$tmp" "$1"',
  "trap - EXIT",
].join("; ");

/** `user@host:port` */
export function describeEndpoint(ep: SshEndpoint): string {
  return `${ep.user}@${ep.host}:${ep.port}`;
}

/** The command line for `argv`: quoted, behind `sudo -n --` unless `sudo` is false or the user is root. */
export function buildCommand(argv: readonly string[], user: string, sudo: boolean | undefined): string {
  if (argv.length === 0) throw new Error("empty command");
  return shellQuote(sudo !== false && user !== "root" ? ["sudo", "-n", "--", ...argv] : argv);
}

/** An error that ends connecting at once (bad credentials, changed host key, bad key file). */
class Final extends Error {
  constructor(readonly error: unknown) {
    super("final");
  }
}

const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** How one endpoint authenticates: a key file's content, or the agent. */
async function credentials(ep: SshEndpoint): Promise<{ config: Partial<ConnectConfig>; what: string }> {
  if (ep.privateKeyPath) {
    let privateKey: Buffer;
    try {
      privateKey = await readFile(ep.privateKeyPath);
    } catch (err) {
      throw new UserError(`cannot read the SSH key ${ep.privateKeyPath} for ${describeEndpoint(ep)}: ${errText(err)}`, {
        cause: err,
      });
    }
    return { config: { privateKey }, what: `key ${ep.privateKeyPath}` };
  }
  const agent = process.env.SSH_AUTH_SOCK;
  if (!agent) {
    throw new UserError(
      `no SSH key for ${describeEndpoint(ep)}: no key file is configured and no ssh-agent is running`,
      {
        hint: "set the node's SSH key file, or start ssh-agent and add the key (ssh-add) so SSH_AUTH_SOCK is set",
      },
    );
  }
  return { config: { agent }, what: `ssh-agent at ${agent}` };
}

interface Ctx {
  readonly opts: ConnectOptions;
  /** Every client opened by the current attempt, jump hosts first. */
  readonly clients: Client[];
}

/** One SSH handshake + authentication to `ep`, over `sock` when given (a jump host's channel). */
async function handshake(ep: SshEndpoint, ctx: Ctx, sock?: ClientChannel): Promise<Client> {
  const { config, what } = await credentials(ep);
  const { opts } = ctx;
  const client = new Client();
  ctx.clients.push(client);
  let hostKeyError: unknown;
  await new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      opts.signal?.removeEventListener("abort", onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = () => {
      client.destroy();
      finish(opts.signal?.reason);
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    client.on("ready", () => finish());
    client.on("error", (err: Error & { level?: string; code?: string }) => {
      if (hostKeyError !== undefined) return finish(new Final(hostKeyError));
      if (err.level === "client-authentication") {
        return finish(
          new Final(
            new UserError(`SSH authentication to ${describeEndpoint(ep)} failed (${what}): ${err.message}`, {
              cause: err,
              hint: `check that the user is right and that the key's public half is in ~${ep.user}/.ssh/authorized_keys on ${ep.host} (not retried)`,
            }),
          ),
        );
      }
      if (err.level === "agent") {
        return finish(new Final(new UserError(`ssh-agent failed for ${describeEndpoint(ep)}: ${err.message}`)));
      }
      if (err.level === "client-dns" && err.code !== "EAI_AGAIN") {
        return finish(new Final(new UserError(`cannot resolve the SSH host ${ep.host}: ${err.message}`)));
      }
      finish(err); // socket errors, timeouts, handshake failures: retried
    });
    client.on("close", () => {
      if (hostKeyError !== undefined) finish(new Final(hostKeyError));
      else finish(new Error("connection closed during the SSH handshake"));
    });
    try {
      client.connect({
        host: ep.host,
        port: ep.port,
        username: ep.user,
        ...config,
        ...(sock ? { sock } : {}),
        readyTimeout: opts.connectTimeoutMs ?? 20_000,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
        tryKeyboard: false,
        hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
          verifyHostKey(opts.knownHostsFile, ep.host, ep.port, key, opts.hostKeyPolicy).then(
            () => verify(true),
            (err: unknown) => {
              hostKeyError = err;
              verify(false);
            },
          );
        },
      });
    } catch (err) {
      // ssh2 throws at once for a key it cannot parse (encrypted without passphrase, ...).
      finish(new Final(new UserError(`cannot use the SSH ${what} for ${describeEndpoint(ep)}: ${errText(err)}`)));
    }
  });
  return client;
}

/** A TCP channel from `via` to `ep` (the ProxyJump way). */
function forward(via: Client, ep: SshEndpoint): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    via.forwardOut("127.0.0.1", 0, ep.host, ep.port, (err, stream) => {
      if (err) reject(new Error(`jump host cannot reach ${ep.host}:${ep.port}: ${err.message}`, { cause: err }));
      else resolve(stream);
    });
  });
}

/** One attempt at the whole chain: jump hosts first (recursively), then `ep`. */
async function attempt(ep: SshEndpoint, ctx: Ctx): Promise<Client> {
  if (!ep.jump) return handshake(ep, ctx);
  const via = await attempt(ep.jump, ctx);
  return handshake(ep, ctx, await forward(via, ep));
}

/**
 * connect opens an SSH connection to `endpoint` (through its jump hosts), retrying while
 * the node is not reachable yet. Throws a UserError for a failed authentication, a changed
 * (or, with "strict", unknown) host key or an unusable key file, and an SshConnectError
 * when every attempt failed.
 */
export async function connect(node: string, endpoint: SshEndpoint, opts: ConnectOptions): Promise<Remote> {
  const attempts = (opts.retries ?? 4) + 1;
  let delay = BACKOFF_FIRST_MS;
  for (let i = 1; ; i++) {
    opts.signal?.throwIfAborted();
    const ctx: Ctx = { opts, clients: [] };
    try {
      const client = await attempt(endpoint, ctx);
      return new SshRemote(node, endpoint, ctx.clients, client, createLimiter(opts.maxChannels ?? 8));
    } catch (err) {
      for (const c of ctx.clients.reverse()) c.destroy();
      if (err instanceof Final) throw err.error;
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (i >= attempts) {
        throw new SshConnectError(
          `cannot connect to ${node} over SSH (${describeEndpoint(endpoint)}${endpoint.jump ? ` via ${describeEndpoint(endpoint.jump)}` : ""}) after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${errText(err)}`,
          node,
          attempts,
          err,
        );
      }
      opts.log?.(`${node}: SSH connect attempt ${i}/${attempts} failed (${errText(err)}), retrying in ${delay} ms`);
      await sleep(delay, opts.signal);
      delay = Math.min(delay * 2, BACKOFF_MAX_MS);
    }
  }
}

/** The exit code a shell reports for a command killed by `signal`. */
function signalCode(signal: string | undefined): number {
  const name = signal?.startsWith("SIG") ? signal : `SIG${signal}`;
  const n = (osConstants.signals as Record<string, number | undefined>)[name];
  return 128 + (n ?? 0);
}

class SshRemote implements Remote {
  #closed = false;
  #sftp: Promise<SFTPWrapper> | undefined;
  #lost: string | undefined;
  readonly #ended = new WeakSet<Client>();

  constructor(
    readonly node: string,
    readonly endpoint: SshEndpoint,
    /** Jump host clients first, `client` last. */
    private readonly clients: readonly Client[],
    private readonly client: Client,
    private readonly channels: Limiter,
  ) {
    for (const c of clients) {
      // After "ready", errors (keepalive timeout, reset) end the connection: remember why.
      c.on("error", (err: Error) => {
        this.#lost ??= err.message;
      });
      c.on("close", () => {
        this.#ended.add(c);
        this.#lost ??= "connection closed";
      });
    }
  }

  #gone(): Error | undefined {
    if (this.#closed) return new Error(`${this.node}: the SSH connection was closed`);
    if (this.#lost !== undefined) {
      return new Error(
        `${this.node}: the SSH connection to ${describeEndpoint(this.endpoint)} was lost (${this.#lost})`,
      );
    }
    return undefined;
  }

  async exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    const timeoutMs = opts?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const limited = Number.isFinite(timeoutMs) && timeoutMs > 0;
    // The node enforces the limit itself (TERM, then KILL 5 s later, to the command's whole
    // process group): OpenSSH refuses signal requests for root sessions and keeps a session
    // (one of its MaxSessions) busy while the command runs on after its channel is closed.
    const wrapped = limited ? ["timeout", "-k", "5", `${+(timeoutMs / 1000).toFixed(3)}s`, ...argv] : argv;
    const command = buildCommand(wrapped, this.endpoint.user, opts?.sudo);
    const stdin = opts?.stdin;
    const release = await this.channels.acquire();
    const gone = this.#gone();
    if (gone) {
      release();
      throw gone;
    }
    const started = Date.now();
    const timedOut = (stderr: string): string =>
      `${stderr}${stderr && !stderr.endsWith("\n") ? "\n" : ""}timed out after ${timeoutMs} ms: killed\n`;
    return new Promise<ExecResult>((resolve, reject) => {
      const onChannel = (err: Error | undefined, ch: ClientChannel) => {
        if (err) {
          release();
          reject(new Error(`${this.node}: cannot start \`${argv.join(" ")}\`: ${err.message}`, { cause: err }));
          return;
        }
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let code: number | undefined;
        let signal: string | undefined;
        let settled = false;
        let grace: NodeJS.Timeout | undefined;
        let backstop: NodeJS.Timeout | undefined;
        const text = (bufs: Buffer[]) => Buffer.concat(bufs).toString("utf8");
        const settle = (fn: () => void) => {
          if (settled) return;
          settled = true;
          clearTimeout(backstop);
          fn();
        };
        ch.on("data", (b: Buffer) => out.push(b));
        ch.stderr.on("data", (b: Buffer) => errOut.push(b));
        ch.on("exit", (c: number | null, s?: string) => {
          if (typeof c === "number") code = c;
          else signal = s;
        });
        ch.on("error", () => {}); // surfaces as "close" without an exit status
        ch.on("close", () => {
          clearTimeout(grace);
          release();
          settle(() => {
            const stdout = text(out);
            const stderr = text(errOut);
            const c = code ?? (signal !== undefined ? signalCode(signal) : undefined);
            if (c === undefined) {
              reject(
                this.#gone() ??
                  new Error(`${this.node}: \`${argv.join(" ")}\` ended without an exit status (connection trouble?)`),
              );
            } else if (limited && (c === 124 || c === 137) && Date.now() - started >= timeoutMs) {
              // timeout(1) exits 124 after TERM, or dies with the group by KILL (137).
              resolve({ code: 124, stdout, stderr: timedOut(stderr) });
            } else if (code === undefined) {
              resolve({ code: c, stdout, stderr: `${stderr}killed by ${signal}\n` });
            } else {
              resolve({ code: c, stdout, stderr });
            }
          });
        });
        if (limited) {
          // Should the node not end it (hung, or no timeout(1)), close the channel from here.
          backstop = setTimeout(() => {
            settle(() => {
              try {
                ch.signal("KILL");
              } catch {
                // no signals: closing the channel is all there is
              }
              ch.close();
              // The slot comes back when the server has closed the channel, or after a grace period.
              grace = setTimeout(release, CLOSE_GRACE_MS);
              resolve({ code: 124, stdout: text(out), stderr: timedOut(text(errOut)) });
            });
          }, timeoutMs + BACKSTOP_MS);
        }
        if (stdin !== undefined && stdin.length > 0) ch.end(Buffer.from(stdin));
        else ch.end();
      };
      try {
        this.client.exec(command, onChannel);
      } catch (err) {
        release();
        reject(this.#gone() ?? err);
      }
    });
  }

  async run(argv: readonly string[], opts?: ExecOptions): Promise<string> {
    const r = await this.exec(argv, opts);
    if (r.code !== 0) throw new CommandError(this.node, argv, r.code, r.stderr || r.stdout);
    return r.stdout;
  }

  async readFile(path: string): Promise<string | undefined> {
    checkPath(path);
    // LC_ALL=C: the node's locale would translate "No such file or directory".
    const argv = ["env", "LC_ALL=C", "cat", "--", path];
    const r = await this.exec(argv);
    if (r.code === 0) return r.stdout;
    if (r.code === 1 && /No such file/.test(r.stderr)) return undefined;
    throw new CommandError(this.node, argv, r.code, r.stderr || r.stdout);
  }

  /**
   * writeFile uploads through the connection's one SFTP session (opened on first use). As
   * root: into a hidden temp file beside the target, mode set, then renamed over it
   * (posix-rename: atomic, replacing). As another user: into a private temp file of the
   * user's, which {@link WRITE_FILE_SCRIPT} then installs as root through sudo.
   */
  async writeFile(path: string, content: string | Uint8Array, mode = 0o644): Promise<void> {
    checkPath(path);
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new RangeError(`bad file mode ${mode}`);
    const data = typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content);
    const sftp = await this.#sftpSession();
    const token = randomBytes(6).toString("hex");
    if (this.endpoint.user !== "root") {
      const staged = `/tmp/.kubelab-upload-${token}`;
      try {
        await sftpCall<void>((cb) => sftp.writeFile(staged, data, { mode: 0o600 }, cb));
        const octal = mode.toString(8).padStart(4, "0");
        await this.run(["sh", "-c", WRITE_FILE_SCRIPT, "kubelab-write-file", path, octal, staged]);
      } finally {
        await sftpCall<void>((cb) => sftp.unlink(staged, cb)).catch(() => {});
      }
      return;
    }
    const dir = dirname(path);
    const present = await sftpCall<Stats>((cb) => sftp.stat(dir, cb)).then(
      (st) => st.isDirectory(),
      () => false,
    );
    if (!present) await this.run(["mkdir", "-p", "--", dir]);
    const tmp = `${dir}/.${basename(path)}.${token}`;
    try {
      await sftpCall<void>((cb) => sftp.writeFile(tmp, data, { mode }, cb));
      // The server's umask applies at creation; setstat does not.
      await sftpCall<void>((cb) => sftp.chmod(tmp, mode, cb));
      await sftpCall<void>((cb) => sftp.ext_openssh_rename(tmp, path, cb));
    } catch (e) {
      await sftpCall<void>((cb) => sftp.unlink(tmp, cb)).catch(() => {});
      throw new Error(`${this.node}: cannot write ${path}: ${errText(e)}`, { cause: e });
    }
  }

  /** The connection's SFTP session, opened once and reused (it takes one of sshd's sessions). */
  #sftpSession(): Promise<SFTPWrapper> {
    const gone = this.#gone();
    if (gone) return Promise.reject(gone);
    this.#sftp ??= new Promise<SFTPWrapper>((resolve, reject) => {
      this.client.sftp((err, sftp) => {
        if (err) return reject(new Error(`${this.node}: cannot open an SFTP session: ${err.message}`));
        sftp.on("close", () => {
          this.#sftp = undefined;
        });
        resolve(sftp);
      });
    }).catch((e: Error) => {
      this.#sftp = undefined;
      throw e;
    });
    return this.#sftp;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of [...this.clients].reverse()) {
      if (this.#ended.has(c)) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          c.destroy();
          resolve();
        }, 5_000);
        c.once("close", () => {
          clearTimeout(timer);
          resolve();
        });
        c.end();
      });
    }
  }
}

/** sftpCall turns an ssh2 SFTP callback into a promise. */
function sftpCall<T>(f: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    f((err, value) => (err ? reject(err) : resolve(value)));
  });
}

/** Remote file paths must be absolute (and name a file, not a directory). */
function checkPath(path: string): void {
  if (!isAbsolute(path) || path.endsWith("/") || path.includes("\0")) {
    throw new Error(`remote file path must be absolute and name a file: ${JSON.stringify(path)}`);
  }
}
