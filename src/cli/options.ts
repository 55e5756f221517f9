/**
 * Options several commands share, declared once: -o/--output, the global -q/--quiet, and
 * the reading of `-o=json` (which commander would take as the value "=json").
 */
import { type CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import type { Io } from "./io.js";
import { OUTPUT_FORMATS } from "./output.js";

/** outputOption is -o/--output: text (the default) for people, json or yaml for scripts. */
export function outputOption() {
  return new Option("-o, --output <format>", "output format (json and yaml are for scripts)")
    .choices(OUTPUT_FORMATS)
    .default("text" as const);
}

/**
 * quietIo adds the global -q/--quiet to the program and returns the Io its commands write to:
 * under --quiet, stderr carries nothing (run() reports errors on the Io it was given) and
 * commands leave out what only a person reads (io.quiet).
 */
export function quietIo(program: CommandUnknownOpts, given: Io): Io {
  let quiet = false;
  program.option("-q, --quiet", "print only errors and the result a script reads: no notes, progress or warnings");
  program.hook("preAction", () => {
    quiet = program.opts().quiet === true;
  });
  return {
    out: (text) => given.out(text),
    err: (text) => {
      if (!quiet) given.err(text);
    },
    get terminal() {
      return quiet ? undefined : given.terminal;
    },
    stdin: given.stdin,
    signal: given.signal,
    get columns() {
      return given.columns;
    },
    get quiet() {
      return quiet;
    },
  };
}

/**
 * splitShortValues turns `-o=json` into `-o json` for every short option of the program that
 * takes a value, as `--output=json` already works; arguments after `--` are left alone
 * (`kubelab ssh NODE -- CMD` passes them on).
 */
export function splitShortValues(program: CommandUnknownOpts, argv: readonly string[]): string[] {
  const valued = new Set<string>();
  const walk = (cmd: CommandUnknownOpts) => {
    for (const o of cmd.options) if (o.short && (o.required || o.optional)) valued.add(o.short);
    for (const sub of cmd.commands) walk(sub);
  };
  walk(program);
  const end = argv.indexOf("--");
  return argv.flatMap((arg, i) => {
    const m = /^(-[^-])=(.*)$/s.exec(arg);
    return m?.[1] && valued.has(m[1]) && (end < 0 || i < end) ? [m[1], m[2] ?? ""] : [arg];
  });
}
