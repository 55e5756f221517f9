// A progress Status for tests: it records each step opened and how it ended, as lines.
import type { Status } from "../../src/phases/phase.js";

/** recordingStatus returns a Status whose `lines` read `start <title> [<nodes>]`, then `ok` or `failed`. */
export function recordingStatus(): Status & { readonly lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    start: (title, nodes) => lines.push(`start ${title}${nodes ? ` [${nodes.join(",")}]` : ""}`),
    end: (ok) => lines.push(ok ? "ok" : "failed"),
  };
}
