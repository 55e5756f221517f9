// Interrupting kubelab, in-process: the signals' handling on a stand-in process, and `up`
// aborted while it hangs connecting to a loopback port that never speaks SSH. Also the
// cluster lock as the commands meet it.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { sshLabFileIn } from "../../test/helpers/ssh-lab.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { catchInterrupts, interruptedLine, stopsOnInterrupt } from "./interrupt.js";
import { run } from "./main.js";

describe("catching interrupts", () => {
  it("the first signal aborts the run, a second one exits at once, saying it once", () => {
    const events = new EventEmitter();
    const said: string[] = [];
    const exits: number[] = [];
    const interrupt = catchInterrupts("interrupted", (l) => said.push(l), {
      exit: (c) => exits.push(c),
      graceMs: 60_000,
      events,
    });
    events.emit("SIGINT", "SIGINT");
    assert.equal(interrupt.signal.aborted, true);
    assert.deepEqual(exits, []);
    events.emit("SIGINT", "SIGINT");
    assert.deepEqual(exits, [130]);
    assert.equal(interrupt.end(), 130);
    assert.deepEqual(said, ["interrupted"]);
    interrupt.dispose();
    assert.equal(events.listenerCount("SIGINT") + events.listenerCount("SIGTERM"), 0);
  });

  it("a run that does not end within the grace period is ended; SIGTERM's code is 143", async () => {
    const events = new EventEmitter();
    const exits: number[] = [];
    const interrupt = catchInterrupts("interrupted", () => {}, { exit: (c) => exits.push(c), graceMs: 10, events });
    events.emit("SIGTERM", "SIGTERM");
    interrupt.dispose();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(exits, [143]);
  });

  it("names what comes next, and is caught only by the commands that stop cleanly", () => {
    assert.equal(interruptedLine(["up", "-f", "lab.yaml"]), "interrupted; the next kubelab up continues from here");
    assert.equal(interruptedLine(["-q", "down", "--force"]), "interrupted; the next kubelab down continues from here");
    assert.equal(interruptedLine(["image", "bake"]), "interrupted");
    assert.deepEqual([["up"], ["down"], ["image", "bake"], ["ssh", "master-1"], ["status"]].map(stopsOnInterrupt), [
      true,
      true,
      true,
      false,
      false,
    ]);
  });
});

/** silentPort accepts connections and never says a word; `onSsh` runs when an SSH client greets it. */
async function silentPort(onSsh: () => void) {
  const sockets = new Set<Socket>();
  const counts = { accepted: 0 };
  const server = createServer((s) => {
    counts.accepted++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.once("data", (d) => {
      if (d.toString("latin1").startsWith("SSH-")) onSsh();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, sockets, counts, port: (server.address() as AddressInfo).port };
}

/** cli runs kubelab in-process with `signal` as the run's, collecting stderr. */
async function cli(argv: string[], signal?: AbortSignal) {
  let text = "";
  const err = (s: string) => {
    text += `${s}\n`;
  };
  const code = await run(argv, { out: () => {}, err, signal });
  return { code, err: text };
}

describe("an interrupted up", () => {
  it("stops connecting, releases the lock and says the next up continues", async (t) => {
    const dir = await tempDir(t);
    const controller = new AbortController();
    const lock = join(dir, ".kubelab", "lab", "lock");
    let lockedThen = false;
    let acceptedThen = 0;
    const port = await silentPort(() => {
      lockedThen = existsSync(lock);
      acceptedThen = port.counts.accepted;
      controller.abort(new DOMException("interrupted by SIGINT", "AbortError"));
    });
    t.after(() => port.server.close());
    const file = await sshLabFileIn(dir, port.port);
    const r = await cli(["up", "-f", file, "--no-kubeconfig"], controller.signal);
    assert.equal(r.code, 130, r.err);
    // Without the abort, each silent connection would wait out its handshake timeout and be
    // tried again: no connection may come after the interrupt.
    assert.equal(port.counts.accepted, acceptedThen, "no connection attempt after the interrupt");
    assert.match(r.err, /^interrupted; the next kubelab up continues from here$/m);
    assert.doesNotMatch(r.err, /^error:/m);
    assert.equal(lockedThen, true, "up held the lock while connecting");
    assert.equal(existsSync(lock), false);
    for (let i = 0; i < 50 && port.sockets.size > 0; i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(port.sockets.size, 0, "every connection closed");
  });
});

describe("a busy cluster", () => {
  it("up and down stop at once, saying who holds it; a dry run goes on", async (t) => {
    const dir = await tempDir(t);
    const refused = createServer();
    await new Promise<void>((resolve) => refused.listen(0, "127.0.0.1", resolve));
    const closedPort = (refused.address() as AddressInfo).port;
    await new Promise((resolve) => refused.close(resolve));
    const file = await sshLabFileIn(dir, closedPort);
    await mkdir(join(dir, ".kubelab", "lab"), { recursive: true });
    const holder = { pid: process.pid, since: "2026-01-01T00:00:00Z", command: "up" };
    await writeFile(join(dir, ".kubelab", "lab", "lock"), JSON.stringify(holder));

    for (const argv of [
      ["up", "-f", file],
      ["down", "-f", file, "--force"],
    ]) {
      const r = await cli(argv);
      assert.equal(r.code, 1, r.err);
      assert.match(
        r.err,
        new RegExp(`^error: cluster lab is busy \\(pid ${process.pid}, since 2026-01-01T00:00:00Z\\): kubelab up`, "m"),
      );
      assert.match(r.err, new RegExp(`hint: wait for it to end, or stop it \\(kill ${process.pid}\\)`));
    }
    // Not stopped by the lock: it goes on to ask the hosts (which refuse: exit 1, not busy).
    const dry = await cli(["up", "-f", file, "--dry-run"]);
    assert.equal(dry.code, 1, dry.err);
    assert.match(dry.err, /master-1 is unreachable: ECONNREFUSED/);
    assert.doesNotMatch(dry.err, /busy/);
    assert.equal(existsSync(join(dir, ".kubelab", "lab", "lock")), true, "the holder's lock stays");
  });
});
