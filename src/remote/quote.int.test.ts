// shellQuote through real shells (/bin/sh, bash): hostile arguments arrive byte for byte, and a
// quoted first word is never read as an assignment.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { need } from "../../test/helpers/prereq.js";
import { shellQuote } from "./quote.js";

const HOSTILE = [
  "$(reboot)",
  "`reboot`",
  "a; rm -rf /",
  "it's",
  "'",
  "''",
  "'\\''",
  "line1\nline2",
  "\n",
  "*",
  "/etc/*",
  "-rf",
  "--",
  "",
  " ",
  "\t",
  "héllo wörld ☃ 日本",
  "$HOME",
  "${HOME}",
  "\\",
  '"quoted"',
  "a|b&c>d<e",
  "~",
  "~root",
  "{a,b}",
  "!",
  "#comment",
  "x=y",
  "a=$(id)",
  "back\\slash\\",
  "tab\there",
  "\r\n",
  "%s",
];

/** printf '%s\n' ARGS through `shell -c`, compared byte for byte. */
function roundTrip(shell: string, args: readonly string[]): void {
  const line = shellQuote(["printf", "%s\\n", ...args]);
  const out = execFileSync(shell, ["-c", line], { encoding: "utf8" });
  assert.equal(out, args.map((a) => `${a}\n`).join(""));
}

test("shellQuote: hostile arguments arrive intact through sh -c", () => {
  roundTrip("/bin/sh", HOSTILE);
  for (const a of HOSTILE) roundTrip("/bin/sh", [a]);
});

test("shellQuote: ... and through bash -c", (t) => {
  if (!need(t, "bash", existsSync("/bin/bash"))) return;
  roundTrip("/bin/bash", HOSTILE);
});

test("shellQuote: the first word is never an assignment or a keyword", () => {
  assert.equal(shellQuote(["A=b", "c"]), "'A=b' c");
  assert.equal(shellQuote(["time", "ls"]), "'time' ls");
  assert.equal(shellQuote(["echo", "time", "A=b"]), "echo time A=b");
  // `'A=b'` runs a command named A=b instead of setting a variable.
  const r = (() => {
    try {
      execFileSync("/bin/sh", ["-c", shellQuote(["A=b", "true"])], { stdio: "pipe" });
      return 0;
    } catch (err) {
      return (err as { status: number }).status;
    }
  })();
  assert.equal(r, 127);
});
