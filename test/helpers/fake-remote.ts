/**
 * A fake Remote for hermetic phase tests: one in-memory node. Its files are a map, its
 * commands answer from a table the test scripts (matched by argv), and every call is logged,
 * so a test reads back exactly what a phase ran and wrote. No process starts, no disk is
 * touched, nothing is simulated beyond `test -f`/`test -e` on the file map.
 *
 * A command nobody scripted answers like a missing program (exit 127, saying so), so a phase
 * that runs something unexpected fails loudly instead of being told it worked.
 */
import { CommandError } from "../../src/errors.js";
import type { ExecOptions, ExecResult, Remote } from "../../src/remote/types.js";

/** In an argv pattern, matches every remaining argument (zero or more). */
export const REST: unique symbol = Symbol("any remaining arguments");

/** An argv to match: strings match exactly, regular expressions by test, REST ends a prefix. */
export type ArgvPattern = readonly (string | RegExp | typeof REST)[];

/** What a scripted command returns; missing fields are 0 and empty. */
export interface Reply {
  readonly code?: number;
  readonly stdout?: string;
  readonly stderr?: string;
}

/** A command as the fake received it. */
export interface CommandCall {
  readonly kind: "exec" | "run";
  readonly argv: readonly string[];
  readonly opts?: ExecOptions;
}

/** A file written through the fake. */
export interface WriteCall {
  readonly kind: "writeFile";
  readonly path: string;
  /** The content as text (uploads of bytes are decoded as UTF-8 for comparison). */
  readonly content: string;
  readonly mode?: number;
}

/** Every call the fake received, in order. */
export type Call = CommandCall | WriteCall | { readonly kind: "readFile"; readonly path: string };

/** A scripted answer: fixed, or computed from the call (and the node, e.g. its files). */
export type Answer = Reply | ((call: CommandCall, node: FakeRemote) => Reply | Promise<Reply>);

/** matchArgv tells whether `argv` fits `pattern`. */
export function matchArgv(pattern: ArgvPattern, argv: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === REST) return true;
    const a = argv[i];
    if (a === undefined) return false;
    if (typeof p === "string" ? p !== a : !p?.test(a)) return false;
  }
  return argv.length === pattern.length;
}

const text = (content: string | Uint8Array) =>
  typeof content === "string" ? content : Buffer.from(content).toString("utf8");

/** FakeRemote is one in-memory node behind the Remote interface. */
export class FakeRemote implements Remote {
  /** The node's files by path (what readFile reads, writeFile writes and `test -f` sees). */
  readonly files: Map<string, string>;
  /** Every exec, run, readFile and writeFile, in order. */
  readonly calls: Call[] = [];
  closed = false;
  readonly #table: { pattern: ArgvPattern; answer: Answer }[] = [];
  readonly #failingWrites: { path: string | RegExp; message: string }[] = [];

  constructor(
    readonly node: string,
    files: Readonly<Record<string, string>> = {},
  ) {
    this.files = new Map(Object.entries(files));
  }

  /**
   * on scripts the answer to commands matching `pattern` (exit 0 and no output when no
   * answer is given). A later entry wins over an earlier one, so a test can override.
   */
  on(pattern: ArgvPattern, answer: Answer = {}): this {
    this.#table.unshift({ pattern, answer });
    return this;
  }

  async #answer(call: CommandCall): Promise<ExecResult> {
    this.calls.push(call);
    const entry = this.#table.find((e) => matchArgv(e.pattern, call.argv));
    const [cmd, flag, path] = call.argv;
    let reply: Reply;
    if (entry) reply = typeof entry.answer === "function" ? await entry.answer(call, this) : entry.answer;
    else if (cmd === "test" && (flag === "-f" || flag === "-e") && path && call.argv.length === 3)
      reply = { code: this.files.has(path) ? 0 : 1 };
    else reply = { code: 127, stderr: `fake remote ${this.node}: nothing scripted for \`${call.argv.join(" ")}\`` };
    return { code: reply.code ?? 0, stdout: reply.stdout ?? "", stderr: reply.stderr ?? "" };
  }

  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.#answer({ kind: "exec", argv: [...argv], opts });
  }

  /** run throws the CommandError the SSH remote throws: node, argv, exit code, output tail. */
  async run(argv: readonly string[], opts?: ExecOptions): Promise<string> {
    const r = await this.#answer({ kind: "run", argv: [...argv], opts });
    if (r.code !== 0) throw new CommandError(this.node, argv, r.code, r.stderr || r.stdout);
    return r.stdout;
  }

  async readFile(path: string): Promise<string | undefined> {
    this.calls.push({ kind: "readFile", path });
    return this.files.get(path);
  }

  /**
   * failWrites makes writes to `path` (or paths matching it) fail as the SSH remote's do: the
   * error names the node and the path, then `message` (SFTP's bare "Failure" by default, or what
   * the sudo write script printed). The file is left as it was.
   */
  failWrites(path: string | RegExp, message = "Failure"): this {
    this.#failingWrites.unshift({ path, message });
    return this;
  }

  async writeFile(path: string, content: string | Uint8Array, mode?: number): Promise<void> {
    this.calls.push({ kind: "writeFile", path, content: text(content), mode });
    const failing = this.#failingWrites.find((f) => (typeof f.path === "string" ? f.path === path : f.path.test(path)));
    if (failing) throw new Error(`${this.node}: cannot write ${path}: ${failing.message}`);
    this.files.set(path, text(content));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** commands are the argv of every exec and run so far, in order. */
  commands(): string[][] {
    return this.calls
      .filter((c): c is CommandCall => c.kind !== "readFile" && c.kind !== "writeFile")
      .map((c) => [...c.argv]);
  }

  /** writes are the paths written so far, in order. */
  writes(): string[] {
    return this.calls.filter((c): c is WriteCall => c.kind === "writeFile").map((c) => c.path);
  }

  /** forget clears the call log (e.g. after gathering facts, so only a phase's own calls remain). */
  forget(): void {
    this.calls.length = 0;
  }
}
