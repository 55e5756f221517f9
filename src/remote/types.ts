/**
 * Remote execution: what phases use to run commands and write files on a node. One
 * implementation speaks SSH (ssh2); tests and providers use the same interface.
 */

/** Where and as whom to connect. */
export interface SshEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Private key file; when absent, the SSH agent ($SSH_AUTH_SOCK) is used. */
  readonly privateKeyPath?: string;
  /** A bastion to connect through first. */
  readonly jump?: SshEndpoint;
}

/** Options of one command. */
export interface ExecOptions {
  /** Run as root through `sudo -n` when the login user is not root. @default true */
  readonly sudo?: boolean;
  /** Bytes written to the command's stdin, then closed. */
  readonly stdin?: string | Uint8Array;
  /** Kill the command after this long. @default 300000 */
  readonly timeoutMs?: number;
}

/** What a finished command returned. */
export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A connection to one node. Commands are argument arrays: nothing reaches a shell unquoted. */
export interface Remote {
  /** The node's name, for messages. */
  readonly node: string;
  /** exec runs a command and returns its result whatever the exit code. */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** run runs a command and throws a CommandError (with the output's tail) on a non-zero exit. */
  run(argv: readonly string[], opts?: ExecOptions): Promise<string>;
  /** readFile returns a file's content, or undefined when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** writeFile writes a file atomically (temp file + rename) with the given mode, as root. */
  writeFile(path: string, content: string | Uint8Array, mode?: number): Promise<void>;
  /** close ends the connection. */
  close(): Promise<void>;
}
