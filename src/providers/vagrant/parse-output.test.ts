// Vagrant's output as data, on what the real vagrant printed (test/fixtures/vagrant/): the
// machine-readable rows of `vagrant status` (states, escapes, a failure's error-exit row),
// the state mapping, and the machine named by a line of `vagrant up`'s human output.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  errorExit,
  machineState,
  parseMachineReadable,
  parseStatus,
  plainText,
  splitVagrantLine,
  unescapeMachineReadable,
} from "./parse-output.js";

const recording = (file: string) =>
  readFileSync(new URL(`../../../test/fixtures/vagrant/${file}`, import.meta.url), "utf8");

test("vagrant status --machine-readable of machines not created: every machine not_created, in vagrant's order", () => {
  const text = recording("status-not-created.stdout.txt");
  assert.deepEqual(
    [...parseStatus(text)],
    [
      ["master-1", "not_created"],
      ["worker-1", "not_created"],
      ["worker-2", "not_created"],
    ],
  );
  const rows = parseMachineReadable(text);
  assert.deepEqual(rows[0], {
    timestamp: rows[0]?.timestamp,
    target: "master-1",
    type: "metadata",
    data: ["provider", "libvirt"],
  });
  // The closing ui row is about no machine; its escaped comma and newlines come back.
  const ui = rows.find((r) => r.type === "ui");
  assert.equal(ui?.target, "");
  assert.match(ui?.data[1] ?? "", /^Current machine states:\n\nmaster-1 +not created \(libvirt\)\n/);
  assert.match(ui?.data[1] ?? "", /For more information about a specific\nVM, run `vagrant status NAME`\.$/);
  assert.equal(errorExit(text), undefined);
});

test("a failed machine-readable run: its error-exit row carries vagrant's whole message", () => {
  const text = recording("status-virtualbox-not-usable.stdout.txt");
  assert.equal(parseStatus(text).size, 0);
  const message = errorExit(text) ?? "";
  assert.match(message, /^The provider 'virtualbox' that was requested to back the machine\n'master-1' is reporting/);
  assert.match(message, /ships with VirtualBox, and requires\n/);
});

test("unescapeMachineReadable undoes commas, newlines and carriage returns; lines that are not rows are skipped", () => {
  assert.equal(unescapeMachineReadable("a%!(VAGRANT_COMMA) b\\nc\\rd"), "a, b\nc\rd");
  assert.deepEqual(parseMachineReadable("warning: something\n\n1795882457,m,state,running\nnot,a,row"), [
    { timestamp: "1795882457", target: "m", type: "state", data: ["running"] },
  ]);
});

test("machineState: running is running, not_created is absent, every other state exists but is stopped", () => {
  assert.equal(machineState("running"), "running");
  assert.equal(machineState("not_created"), "absent");
  for (const s of ["poweroff", "saved", "aborted", "paused", "gurumeditation", "inaccessible", "shutoff", "preparing"])
    assert.equal(machineState(s), "stopped", s);
});

test("splitVagrantLine names the machine of `==> m:` and `    m:` lines of a real `vagrant up`, and only known machines", () => {
  const machines = ["master-1", "worker-1"];
  const lines = recording("up-box-file-missing.stdout.txt").split("\n");
  assert.deepEqual(
    lines.map((l) => splitVagrantLine(l, machines)),
    [
      { text: "Bringing machine 'master-1' up with 'libvirt' provider..." },
      { node: "master-1", text: "Box 'kubelab-test/missing' could not be found. Attempting to find and install..." },
      { node: "master-1", text: "Box Provider: libvirt" },
      { node: "master-1", text: "Box Version: >= 0" },
      { node: "master-1", text: "Box file was not detected as metadata. Adding it directly..." },
      { node: "master-1", text: "Adding box 'kubelab-test/missing' (v0) for provider: libvirt" },
      { node: "master-1", text: lines[6]?.replace(/^ {4}master-1: /, "") },
      // vagrant clears the progress line at the end (`\r\e[K`): nothing is left to show.
      { text: "" },
    ],
  );
  assert.deepEqual(splitVagrantLine("==> worker-1: Booting VM...", machines), {
    node: "worker-1",
    text: "Booting VM...",
  });
  // Not a machine of the cluster: the line stays whole.
  assert.deepEqual(splitVagrantLine("    Error: no such file: x", machines), { text: "Error: no such file: x" });
  assert.deepEqual(splitVagrantLine("==> master-9: hello", machines), { text: "==> master-9: hello" });
});

test("a line redrawn with carriage returns (download progress) shows its last drawing", () => {
  const line = "\r\x1b[K    master-1: Progress: 10% (Rate: 1M/s)\r\x1b[K    master-1: Progress: 20% (Rate: 2M/s)";
  assert.deepEqual(splitVagrantLine(line, ["master-1"]), { node: "master-1", text: "Progress: 20% (Rate: 2M/s)" });
  assert.equal(plainText("a\r\x1b[K\nb\x1b[0m\n"), "a\nb\n");
});
