import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { CommandError } from "../errors.js";
import { createLimiter, forEachHost, HostsError } from "./hosts.js";

test("createLimiter: at most n at once, first come first served", async () => {
  const limit = createLimiter(3);
  let inFlight = 0;
  let max = 0;
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      limit.run(async () => {
        order.push(i);
        inFlight++;
        max = Math.max(max, inFlight);
        await delay(5 + (i % 3) * 3);
        inFlight--;
      }),
    ),
  );
  assert.equal(max, 3);
  assert.deepEqual(
    order,
    [...order].sort((a, b) => a - b),
  );
  assert.equal(limit.active, 0);
  assert.equal(limit.pending, 0);
});

test("createLimiter: acquire/release, and a double release frees one slot only", async () => {
  const limit = createLimiter(1);
  const r1 = await limit.acquire();
  let got = false;
  const p = limit.acquire().then((r) => {
    got = true;
    return r;
  });
  await delay(5);
  assert.equal(got, false);
  assert.equal(limit.pending, 1);
  r1();
  r1();
  const r2 = await p;
  assert.equal(limit.active, 1);
  r2();
  assert.equal(limit.active, 0);
  assert.throws(() => createLimiter(0), RangeError);
});

test("forEachHost: respects the concurrency limit and keeps the order of results", async () => {
  const items = Array.from({ length: 20 }, (_, i) => i);
  let inFlight = 0;
  let max = 0;
  const r = await forEachHost(
    items,
    (i) => `node${i}`,
    async (i) => {
      inFlight++;
      max = Math.max(max, inFlight);
      await delay(2 + ((i * 7) % 5));
      inFlight--;
      return i * 2;
    },
    { concurrency: 4 },
  );
  assert.equal(max, 4);
  assert.deepEqual(
    r,
    items.map((i) => i * 2),
  );
});

test("forEachHost: defaults to 8 at once", async () => {
  let inFlight = 0;
  let max = 0;
  await forEachHost(
    Array.from({ length: 30 }, (_, i) => i),
    String,
    async () => {
      inFlight++;
      max = Math.max(max, inFlight);
      await delay(3);
      inFlight--;
    },
  );
  assert.equal(max, 8);
});

test("forEachHost: every host finishes when some fail; HostsError lists the failures", async () => {
  const finished: string[] = [];
  const nodes = ["cp1", "cp2", "w1", "w2", "w3"];
  const err = await forEachHost(
    nodes,
    (n) => n,
    async (n) => {
      if (n === "cp2") {
        await delay(1);
        throw new CommandError("cp2", ["kubeadm", "join"], 1, "[preflight] running\nerror: port 10250 is in use\n");
      }
      if (n === "w3") throw new Error("w3: connection lost\nsecond line");
      await delay(20);
      finished.push(n);
      return n;
    },
    { concurrency: 2 },
  ).then(
    () => assert.fail("should throw"),
    (e: unknown) => e,
  );
  assert.deepEqual(finished.sort(), ["cp1", "w1", "w2"]);
  assert.ok(err instanceof HostsError);
  assert.equal(err.failures.length, 2);
  assert.equal(err.total, 5);
  assert.deepEqual(
    err.failures.map((f) => f.host),
    ["cp2", "w3"],
  );
  assert.ok(err.failures[0]?.error instanceof CommandError);
  assert.equal(
    err.message,
    "failed on 2 of 5 hosts:\n" +
      " - cp2: `kubeadm join` exited 1:\n" +
      "     [preflight] running\n" +
      "     error: port 10250 is in use\n" +
      " - w3: connection lost\n" +
      "     second line\n",
  );
});

test("forEachHost: an aborted signal starts nothing more and throws its reason", async () => {
  const ac = new AbortController();
  const started: number[] = [];
  await assert.rejects(
    forEachHost(
      [1, 2, 3, 4],
      String,
      async (i, signal) => {
        started.push(i);
        assert.equal(signal, ac.signal);
        if (i === 1) ac.abort(new Error("interrupted"));
        await delay(5);
      },
      { concurrency: 1, signal: ac.signal },
    ),
    /interrupted/,
  );
  assert.deepEqual(started, [1]);
});

test("forEachHost: no items, no work", async () => {
  assert.deepEqual(await forEachHost([], String, async () => 1), []);
});
