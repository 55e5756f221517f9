// Progress output: plain lines without a terminal; on a terminal, listr2 with one live line per
// node (drawn into a stream that says it is a TTY, and read back without the escape codes).
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { lineStatus, listrStatus, teeStatus } from "./progress.js";

/** A terminal stand-in: a stream that says it is a TTY and keeps what is drawn. */
function fakeTerminal(): { stream: NodeJS.WriteStream; text: () => string } {
  let raw = "";
  const stream = new Writable({
    write(chunk, _enc, done) {
      raw += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY: true, columns: 100, rows: 40 });
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI escape codes
  return { stream, text: () => raw.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "") };
}

async function until(what: string, f: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !f(); i++) await sleep(25);
  assert.ok(f(), what);
}

test("without a terminal: a line when a step starts, one when it ends, one per node it changed", () => {
  const lines: string[] = [];
  const s = lineStatus((l) => lines.push(l));
  s.start("Install containerd", ["master-1", "worker-1"]);
  s.end(true, new Map([["worker-1", 2]]));
  assert.equal(lines[0], " • Install containerd ...");
  assert.match(lines[1] ?? "", /^ ✓ Install containerd \(\d+\.\d s\)$/);
  assert.deepEqual(lines.slice(2), ["     worker-1  2 changes"]);
});

test("on a terminal: one live line per node with what it does, then its changes; steps in order", async () => {
  const term = fakeTerminal();
  const live = listrStatus(term.stream);
  live.start("Install containerd", ["master-1", "worker-1"]);
  live.line("master-1: install containerd v2.3.4");
  live.line("nobody: not a node of this step");
  await until("the node's activity is drawn", () => term.text().includes("master-1  install containerd v2.3.4"));
  live.end(true, new Map([["master-1", 3]]));
  live.start("Wait for the API server", []);
  live.end(false);
  await live.close();
  const text = term.text();
  assert.match(text, /✔ Install containerd/);
  assert.match(text, /master-1 {2}3 changes/);
  assert.match(text, /worker-1 {2}no change/);
  assert.doesNotMatch(text, /nobody/);
  assert.match(text, /✖ Wait for the API server/);
  assert.ok(text.lastIndexOf("Install containerd") < text.lastIndexOf("Wait for the API server"));
});

test("teeStatus reports each step to every status", () => {
  const a: string[] = [];
  const b: string[] = [];
  const s = teeStatus(
    lineStatus((l) => a.push(l)),
    lineStatus((l) => b.push(l)),
  );
  s.start("Join nodes");
  s.end(true);
  assert.equal(a.length, 2);
  assert.deepEqual(
    a.map((l) => l.replace(/\(.*\)/, "")),
    b.map((l) => l.replace(/\(.*\)/, "")),
  );
});
