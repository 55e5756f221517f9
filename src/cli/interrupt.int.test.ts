// Ctrl-C on the real kubelab process: `up` hanging in SSH connect to a loopback port that
// accepts and never answers, a second `up` told the cluster is busy, then SIGINT: exit 130
// within 5 s, the message, the lock gone and no temp file of kubelab's left.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { killIfRunning, spawnKubelab } from "../../test/helpers/kubelab-process.js";
import { sshLabFileIn } from "../../test/helpers/ssh-lab.js";
import { tempDir } from "../../test/helpers/tmp.js";

/** until polls `ok` every 50 ms, failing after `ms`. */
async function until(ok: () => boolean, ms: number, what: string): Promise<void> {
  for (const end = Date.now() + ms; !ok(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("Ctrl-C ends a hanging up with 130 within 5 s, and a second up meanwhile is told it is busy", async (t) => {
  const dir = await tempDir(t);
  const tmp = join(dir, "tmp");
  await mkdir(tmp);
  let greeted = 0;
  const server = createServer((s) => {
    s.once("data", (d) => {
      if (d.toString("latin1").startsWith("SSH-")) greeted++;
    });
    s.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;

  const file = await sshLabFileIn(dir, port);
  const lock = join(dir, ".kubelab", "lab", "lock");
  const env = { TMPDIR: tmp, KUBECONFIG: join(dir, "kube-config") };

  const first = spawnKubelab(["up", "-f", file], env);
  t.after(() => killIfRunning(first.child));
  await until(() => greeted > 0 && existsSync(lock), 30_000, "up to connect");

  const second = spawnKubelab(["up", "-f", file], env);
  t.after(() => killIfRunning(second.child));
  const busy = await second.exited;
  assert.equal(busy.code, 1, second.err());
  assert.match(second.err(), /^error: cluster lab is busy \(pid \d+, since [^)]+\): kubelab up is working on it$/m);
  assert.equal(existsSync(lock), true, "the first up keeps its lock");

  const sent = Date.now();
  first.child.kill("SIGINT");
  const ended = await first.exited;
  const seconds = (Date.now() - sent) / 1000;
  assert.equal(ended.code, 130, first.err());
  assert.ok(seconds < 5, `exited after ${seconds} s`);
  assert.match(first.err(), /^interrupted; the next kubelab up continues from here$/m);
  assert.equal(existsSync(lock), false, "the lock is released");
  assert.deepEqual(
    (await readdir(tmp)).filter((f) => f.startsWith("kubelab-")),
    [],
    "no temp file of kubelab's is left",
  );
});
