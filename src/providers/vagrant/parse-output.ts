/**
 * Vagrant's output as data. Pure: text in, values out.
 *
 * Machine-readable output (`vagrant <command> --machine-readable`) has one row per line,
 * `timestamp,target,type,data...`: data fields are comma-separated, and commas, newlines and
 * carriage returns inside a field are escaped as `%!(VAGRANT_COMMA)`, `\n` and `\r`.
 * `vagrant status` gives a `state` row per machine.
 *
 * Human output names the machine a line is about: `==> master-1: Booting VM...` for steps,
 * `    master-1: SSH address: ...` for their details.
 */
import type { Machine } from "../types.js";

/** One row of machine-readable output. */
export interface MachineReadableRow {
  readonly timestamp: string;
  /** The machine the row is about; empty for rows about the whole run (ui, error-exit). */
  readonly target: string;
  readonly type: string;
  /** The data fields, unescaped. */
  readonly data: readonly string[];
}

/** unescapeMachineReadable undoes vagrant's escaping of a machine-readable field. */
export function unescapeMachineReadable(field: string): string {
  return field.replaceAll("%!(VAGRANT_COMMA)", ",").replaceAll("\\n", "\n").replaceAll("\\r", "\r");
}

/** parseMachineReadable returns the rows of `text`; lines that are not rows are skipped. */
export function parseMachineReadable(text: string): MachineReadableRow[] {
  const rows: MachineReadableRow[] = [];
  for (const line of text.split(/\r?\n/)) {
    const [timestamp, target, type, ...data] = line.split(",");
    if (!timestamp || !/^\d+$/.test(timestamp) || target === undefined || !type) continue;
    rows.push({ timestamp, target, type, data: data.map(unescapeMachineReadable) });
  }
  return rows;
}

/** parseStatus returns each machine's vagrant state (`running`, `poweroff`, `not_created`...), in vagrant's order. */
export function parseStatus(text: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const row of parseMachineReadable(text)) {
    const state = row.data[0];
    if (row.type === "state" && row.target && state) states.set(row.target, state);
  }
  return states;
}

/** errorExit returns the message of the run's `error-exit` row (a failed machine-readable command), if any. */
export function errorExit(text: string): string | undefined {
  const row = parseMachineReadable(text).find((r) => r.type === "error-exit");
  return row?.data.slice(1).join(",");
}

/**
 * machineState maps a vagrant state to kubelab's: `running` is running, `not_created` is
 * absent, and every other state (VirtualBox poweroff, saved, aborted, paused, gurumeditation,
 * inaccessible; libvirt shutoff, paused, preparing, crashed...) is a machine that exists and
 * is not running, which `vagrant up` starts.
 */
export function machineState(vagrantState: string): Machine["state"] {
  if (vagrantState === "running") return "running";
  if (vagrantState === "not_created") return "absent";
  return "stopped";
}

/** Terminal control sequences (vagrant clears progress lines with `\r\e[K` even with --no-color). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what is matched
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/**
 * plainText is vagrant's output as a terminal would leave it: control sequences removed and,
 * on a line redrawn with carriage returns (download progress), only its last drawing.
 */
export function plainText(text: string): string {
  return text
    .split("\n")
    .map((line) => {
      const drawings = line.replace(ANSI, "").split("\r");
      return drawings.findLast((d) => d.trim() !== "") ?? "";
    })
    .join("\n");
}

const MACHINE_LINE = /^(?:==> | {4})([^\s:]+): (.*)$/;

/**
 * splitVagrantLine splits a line of vagrant's human output into the machine it is about
 * (only when that is one of `machines`, so `    Error: ...` is not a machine) and the text.
 * The line is returned without control sequences, trailing spaces or its prefix.
 */
export function splitVagrantLine(line: string, machines: readonly string[]): { node?: string; text: string } {
  const plain = plainText(line).trimEnd();
  const m = MACHINE_LINE.exec(plain);
  if (m?.[1] && machines.includes(m[1])) return { node: m[1], text: (m[2] ?? "").trim() };
  return { text: plain.trim() };
}
