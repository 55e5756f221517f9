// Against a real OpenSSH server on 127.0.0.1 (test/helpers/sshd.ts).
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { type Sshd, startSshd } from "../../test/helpers/sshd.js";
import { CommandError, UserError } from "../errors.js";
import { forEachHost, HostsError } from "./hosts.js";
import { fingerprint } from "./known-hosts.js";
import { type ConnectOptions, connect, SshConnectError } from "./ssh.js";
import type { Remote, SshEndpoint } from "./types.js";

interface Setup {
  sshd: Sshd;
  knownHostsFile: string;
  /** Connects (and closes when the test ends). */
  open(endpoint?: SshEndpoint, opts?: Partial<ConnectOptions>): Promise<Remote>;
}

async function setup(t: TestContext): Promise<Setup | undefined> {
  const sshd = await startSshd(t);
  if (!sshd) return undefined;
  const dir = await mkdtemp(join(tmpdir(), "kubelab-cluster-"));
  const remotes: Remote[] = [];
  t.after(async () => {
    await Promise.all(remotes.map((r) => r.close()));
    await rm(dir, { recursive: true, force: true });
  });
  const knownHostsFile = join(dir, "known_hosts");
  return {
    sshd,
    knownHostsFile,
    async open(endpoint = sshd.endpoint(), opts = {}) {
      const r = await connect("node1", endpoint, {
        knownHostsFile,
        hostKeyPolicy: "trust-on-first-use",
        connectTimeoutMs: 10_000,
        ...opts,
      });
      remotes.push(r);
      return r;
    },
  };
}

test("exec: stdout, stderr and exit codes", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const r = await s.open();
  assert.equal(r.node, "node1");
  assert.deepEqual(await r.exec(["sh", "-c", "echo out; echo err >&2; exit 3"]), {
    code: 3,
    stdout: "out\n",
    stderr: "err\n",
  });
  assert.deepEqual(await r.exec(["true"]), { code: 0, stdout: "", stderr: "" });
  assert.equal(await r.run(["echo", "héllo ☃"]), "héllo ☃\n");
  await assert.rejects(r.run(["sh", "-c", "echo first; echo boom >&2; exit 7"]), (err: unknown) => {
    assert.ok(err instanceof CommandError);
    assert.equal(err.host, "node1");
    assert.equal(err.exitCode, 7);
    assert.equal(err.tail, "boom");
    return true;
  });
  // stdout is the tail when stderr is empty
  await assert.rejects(r.run(["sh", "-c", "echo only-out; exit 1"]), /only-out/);
  // A command killed by a signal reports 128 + its number, like a shell.
  const killed = await r.exec(["sh", "-c", "kill -TERM $$"]);
  assert.equal(killed.code, 143);
});

test("exec: hostile arguments arrive intact", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const r = await s.open();
  const args = [
    "$(touch /tmp/kubelab-pwned)",
    "`touch /tmp/kubelab-pwned`",
    "a; touch /tmp/kubelab-pwned",
    "it's",
    "'",
    "line1\nline2",
    "*",
    "-n",
    "--",
    "",
    "héllo ☃ 日本",
    "$HOME ${PATH}",
    "\\",
    '"',
    "a|b&c>d<e",
    "~",
    "!x",
  ];
  const out = await r.run(["printf", "%s\\n", ...args]);
  assert.equal(out, args.map((a) => `${a}\n`).join(""));
  assert.equal((await r.exec(["test", "-e", "/tmp/kubelab-pwned"])).code, 1);
});

test("exec: stdin is written then closed", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const r = await s.open();
  assert.equal(await r.run(["cat"], { stdin: "secret\nline 2 ☃" }), "secret\nline 2 ☃");
  assert.equal(await r.run(["wc", "-c"], { stdin: new Uint8Array([0, 1, 2, 255]) }), "4\n");
  // No stdin: the command sees end of file at once instead of hanging.
  assert.equal(await r.run(["cat"], { timeoutMs: 10_000 }), "");
  // A large input (several SSH window sizes).
  const big = "x".repeat(3 * 1024 * 1024);
  assert.equal(await r.run(["wc", "-c"], { stdin: big }), `${big.length}\n`);
});

test("exec: a timeout kills the command (and its children) with code 124", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const r = await s.open();
  const res = await r.exec(["sh", "-c", "echo started; sleep 31 & sleep 30"], { timeoutMs: 300 });
  assert.equal(res.code, 124);
  assert.equal(res.stdout, "started\n");
  assert.match(res.stderr, /timed out after 300 ms/);
  // A command that ignores TERM gets KILL.
  const stubborn = await r.exec(["sh", "-c", "trap '' TERM; sleep 30"], { timeoutMs: 300 });
  assert.equal(stubborn.code, 124);
  // The processes are gone and the connection still works.
  assert.equal((await r.exec(["pgrep", "-f", "^sleep 3[01]$"])).stdout, "");
  assert.equal(await r.run(["echo", "ok"]), "ok\n");
  // A command's own exit code 124 within its time stays as it is, without the note.
  assert.deepEqual(await r.exec(["sh", "-c", "exit 124"]), { code: 124, stdout: "", stderr: "" });
});

test("exec: 30 commands at once on one connection (sshd allows 10 sessions)", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const r = await s.open();
  const results = await Promise.all(
    Array.from({ length: 30 }, (_, i) => r.run(["sh", "-c", 'sleep 0.2; echo "$1"', "sh", String(i)])),
  );
  assert.deepEqual(
    results,
    Array.from({ length: 30 }, (_, i) => `${i}\n`),
  );
  // Without the cap, sshd refuses the sessions past its 10.
  const uncapped = await s.open(undefined, { maxChannels: 30 });
  const settled = await Promise.allSettled(Array.from({ length: 30 }, () => uncapped.run(["sleep", "0.3"])));
  const refused = settled.filter((r) => r.status === "rejected");
  assert.ok(refused.length > 0, "sshd should refuse sessions beyond MaxSessions");
  assert.match(String((refused[0] as PromiseRejectedResult).reason), /cannot start `sleep 0\.3`: .*open failed/);
});

test("writeFile is atomic with the mode; readFile round-trips; a missing file is undefined", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const r = await s.open();
  const dir = (await r.run(["mktemp", "-d"])).trim();
  try {
    await writeAndRead(r, dir);
  } finally {
    await r.exec(["rm", "-rf", "--", dir]);
  }
});

async function writeAndRead(r: Remote, dir: string): Promise<void> {
  const path = `${dir}/new dir/it's $(x).conf`;
  const content = "key: value\nsecret: 'quoted' $(not run)\n☃\n";
  await r.writeFile(path, content, 0o600);
  assert.equal(await r.readFile(path), content);
  assert.equal(await r.run(["stat", "-c", "%a", path]), "600\n");
  // Default mode 644; overwriting replaces the file (a new inode: rename, not rewrite).
  const inode = await r.run(["stat", "-c", "%i", path]);
  await r.writeFile(path, "second\n");
  assert.equal(await r.readFile(path), "second\n");
  assert.equal(await r.run(["stat", "-c", "%a", path]), "644\n");
  assert.notEqual(await r.run(["stat", "-c", "%i", path]), inode);
  await r.writeFile(`${dir}/empty`, "", 0o640);
  assert.equal(await r.readFile(`${dir}/empty`), "");
  assert.equal(await r.run(["stat", "-c", "%a", `${dir}/empty`]), "640\n");
  // No temp files are left behind.
  assert.equal(await r.run(["ls", "-A", `${dir}/new dir`]), "it's $(x).conf\n");
  assert.equal(await r.readFile(`${dir}/missing`), undefined);
  await assert.rejects(r.readFile(dir), CommandError); // a directory is an error, not "missing"
  await assert.rejects(r.readFile("relative/path"), /absolute/);
  // A failed write says why and leaves nothing behind.
  await r.writeFile(`${dir}/afile`, "x");
  await assert.rejects(r.writeFile(`${dir}/afile/sub/f`, "y"), (err: unknown) => {
    assert.ok(err instanceof CommandError);
    assert.match(err.tail, /Not a directory|File exists/);
    return true;
  });
  assert.equal(await r.run(["ls", "-A", dir]), "afile\nempty\nnew dir\n");
}

test("host keys: first use adds, then known; a changed key is refused; accept-new takes it", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const first = await s.open();
  await first.close();
  const text = await readFile(s.knownHostsFile, "utf8");
  const oldKey = s.sshd.hostKey;
  assert.equal(text, `[127.0.0.1]:${s.sshd.port} ${s.sshd.hostKeyPub.split(" ").slice(0, 2).join(" ")}\n`);
  await (await s.open(undefined, { hostKeyPolicy: "strict" })).close();

  await s.sshd.restart({ newHostKey: true });
  assert.notDeepEqual(s.sshd.hostKey, oldKey);
  await assert.rejects(s.open(), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.equal(
      err.message,
      `host key for 127.0.0.1:${s.sshd.port} changed (was ${fingerprint(oldKey)}, now ${fingerprint(s.sshd.hostKey)})`,
    );
    assert.match(err.hint ?? "", /--accept-new-host-keys/);
    return true;
  });
  assert.equal(await readFile(s.knownHostsFile, "utf8"), text);

  const r = await s.open(undefined, { hostKeyPolicy: "accept-new" });
  assert.equal(await r.run(["echo", "in"]), "in\n");
  assert.match(
    await readFile(s.knownHostsFile, "utf8"),
    new RegExp(s.sshd.hostKey.toString("base64").replaceAll("+", "\\+")),
  );
  await (await s.open(undefined, { hostKeyPolicy: "strict" })).close();
});

test("a wrong client key fails with a clear authentication error, not retried", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const wrong = await s.sshd.generateKey("wrong_ed25519");
  const logs: string[] = [];
  const ep = { ...s.sshd.endpoint(), privateKeyPath: wrong };
  await assert.rejects(s.open(ep, { log: (l) => logs.push(l) }), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.ok(
      err.message.startsWith(`SSH authentication to ${s.sshd.user}@127.0.0.1:${s.sshd.port} failed (key ${wrong})`),
      err.message,
    );
    return true;
  });
  assert.deepEqual(logs, [], "no retry");
  // A missing key file is a UserError too.
  await assert.rejects(s.open({ ...ep, privateKeyPath: join(s.sshd.dir, "nope") }), /cannot read the SSH key/);
});

test("a closed port is retried, then fails with a clear message", async (t) => {
  const s = await setup(t);
  if (!s) return;
  await s.sshd.kill();
  const port = s.sshd.port;
  const logs: string[] = [];
  await assert.rejects(s.open(undefined, { retries: 2, log: (l) => logs.push(l) }), (err: unknown) => {
    assert.ok(err instanceof SshConnectError);
    assert.equal(err.attempts, 3);
    assert.match(
      err.message,
      new RegExp(`^cannot connect to node1 over SSH \\(.*@127\\.0\\.0\\.1:${port}\\) after 3 attempts: .*ECONNREFUSED`),
    );
    return true;
  });
  assert.equal(logs.length, 2);
  assert.match(logs[0] ?? "", /attempt 1\/3 failed .* retrying in 200 ms/);
  assert.match(logs[1] ?? "", /attempt 2\/3 failed .* retrying in 400 ms/);

  // Connecting can be aborted, during the backoff too.
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error("interrupted")), 300);
  await assert.rejects(s.open(undefined, { signal: ac.signal }), /interrupted/);
});

test("connecting retries until the server comes up", async (t) => {
  const s = await setup(t);
  if (!s) return;
  await s.sshd.kill();
  const logs: string[] = [];
  const opening = s.open(undefined, { log: (l) => logs.push(l) });
  await new Promise((res) => setTimeout(res, 500));
  await s.sshd.start();
  const r = await opening;
  assert.equal(await r.run(["echo", "up"]), "up\n");
  assert.ok(logs.length >= 1, "at least one retry");
});

test("jump host: through the same sshd (forwardOut to 127.0.0.1)", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const ep: SshEndpoint = { ...s.sshd.endpoint(), jump: s.sshd.endpoint() };
  const r = await s.open(ep);
  assert.equal(await r.run(["echo", "via jump"]), "via jump\n");
  assert.equal((await Promise.all(Array.from({ length: 12 }, () => r.run(["true"])))).length, 12);
  await r.close();
  await r.close(); // twice is harmless
  await assert.rejects(r.run(["true"]), /closed/);
  // A jump host whose target port is closed: the forward fails, retried, then a clear error.
  await assert.rejects(
    s.open({ ...ep, port: 1 }, { retries: 1 }),
    (err: unknown) => err instanceof SshConnectError && /via .*jump host cannot reach 127\.0\.0\.1:1/.test(err.message),
  );
});

test("forEachHost over SSH: HostsError carries the failing command's tail", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const r = await s.open();
  const nodes = ["cp1", "w1", "w2"];
  let inFlight = 0;
  let max = 0;
  const err = await forEachHost(
    nodes,
    (n) => n,
    async (n) => {
      inFlight++;
      max = Math.max(max, inFlight);
      try {
        await r.run(["sh", "-c", n === "w1" ? "echo 'kubelet failed to start' >&2; exit 4" : "sleep 0.2"]);
      } finally {
        inFlight--;
      }
    },
    { concurrency: 2 },
  ).catch((e: unknown) => e);
  assert.equal(max, 2);
  assert.ok(err instanceof HostsError);
  assert.deepEqual(
    err.failures.map((f) => f.host),
    ["w1"],
  );
  assert.match(err.message, /^failed on 1 of 3 hosts:\n - w1: `sh -c .*` exited 4:\n {5}kubelet failed to start\n$/);
});
