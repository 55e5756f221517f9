// Files kubelab keeps or shares that a crash, a disk error or a mistaken command left damaged:
// the cluster's known_hosts, its run log directory, the user's kubeconfig. Each command that
// touches one ends in a clear error (exit 1 or 2, the file named, a fix, no stack trace), and
// the file is byte for byte what it was. Existing hosts on loopback: an SSH server that
// refuses every login, so a command that got past the file would fail fast.
import assert from "node:assert/strict";
import { chmod, lstat, mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { kubelab } from "../../test/helpers/cli.js";
import { refusingSshd, sshLabFileIn } from "../../test/helpers/ssh-lab.js";
import { stateHome, tempDir } from "../../test/helpers/tmp.js";

/** Root reads and writes whatever the mode says: permission cases then check the other outcome. */
const asRoot = process.getuid?.() === 0;

/** snapshot is what a path holds: a file's bytes and mode, a directory's entries, a link's target. */
async function snapshot(path: string): Promise<string> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return "absent";
  if (st.isSymbolicLink()) return `link (mode ${st.mode})`;
  if (st.isDirectory()) {
    const entries = await readdir(path);
    return `dir ${st.mode} [${(await Promise.all(entries.sort().map(async (e) => `${e}: ${await snapshot(join(path, e))}`))).join(", ")}]`;
  }
  if ((st.mode & 0o444) === 0 && !asRoot) return `file ${st.mode} ${st.size} bytes`;
  return `file ${st.mode} ${(await readFile(path)).toString("base64")}`;
}

/** The user's kubeconfig for one test: KUBECONFIG at `path`, restored after. */
function kubeconfigAt(t: TestContext, path: string): void {
  const old = process.env.KUBECONFIG;
  process.env.KUBECONFIG = path;
  t.after(() => {
    if (old === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = old;
  });
}

/** A cluster file on loopback hosts in a fresh directory, its cluster directory made. */
async function lab(t: TestContext, sshd: number): Promise<{ dir: string; file: string; cluster: string }> {
  const dir = await tempDir(t);
  const file = await sshLabFileIn(dir, sshd);
  const cluster = join(dir, ".kubelab", "lab");
  await mkdir(cluster, { recursive: true });
  kubeconfigAt(t, join(dir, "kube", "config"));
  return { dir, file, cluster };
}

/** clearError asserts exit 1 or 2, `named` in the error with a hint, and no stack trace. */
function clearError(what: string, r: { code: number; err: string }, named: string): void {
  const shown = `${what}:\n${r.err}`;
  assert.ok(r.code === 1 || r.code === 2, `exit ${r.code} from ${shown}`);
  assert.ok(r.err.includes(named), `${named} not named by ${shown}`);
  assert.match(r.err, /^ {2}hint: /m, `no fix in ${shown}`);
  assert.doesNotMatch(r.err, /\n\s+at |looks like a bug/, shown);
}

/** Every command that touches the cluster directory, on `file`. */
const commands = (file: string): string[][] => [
  ["up", "-f", file],
  ["kubeconfig", "-f", file],
  ["down", "-f", file, "--force"],
  ["ssh", "master-1", "-f", file, "--", "true"],
  ["status", "-f", file],
];

describe("a corrupted known_hosts in the cluster directory", () => {
  const kinds: [string, (path: string) => Promise<void>][] = [
    ["text that is no known_hosts", (p) => writeFile(p, "this is not\na known_hosts file\n")],
    ["binary", (p) => writeFile(p, Buffer.from([0, 1, 2, 255, 254, 10, 200, 0, 7, 27, 91]))],
    [
      "a line cut short by a crash",
      (p) => writeFile(p, "# kubelab\n[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI\n"),
    ],
    [
      "a directory",
      async (p) => {
        await mkdir(join(p, "inside"), { recursive: true });
      },
    ],
  ];
  for (const [kind, make] of kinds) {
    it(`${kind}: every command stops with the file named, and leaves it as it was`, async (t) => {
      await stateHome(t);
      const sshd = await refusingSshd(t);
      const { file, cluster } = await lab(t, sshd);
      const knownHosts = join(cluster, "known_hosts");
      await make(knownHosts);
      const before = await snapshot(knownHosts);
      for (const argv of commands(file)) {
        clearError(`${kind}: kubelab ${argv[0]}`, await kubelab(...argv), knownHosts);
        assert.equal(await snapshot(knownHosts), before, `kubelab ${argv[0]} changed ${knownHosts}`);
      }
    });
  }
});

describe("a run log directory kubelab cannot write", () => {
  it("logs is a file: up stops with it named, and leaves it as it was", async (t) => {
    await stateHome(t);
    const { file, cluster } = await lab(t, await refusingSshd(t));
    const logs = join(cluster, "logs");
    await writeFile(logs, "my notes\n");
    const r = await kubelab("up", "-f", file);
    clearError("up", r, logs);
    assert.match(r.err, /is not a directory/);
    assert.equal(await readFile(logs, "utf8"), "my notes\n");
  });

  it("the cluster directory is a file: every command stops with it named, and leaves it as it was", async (t) => {
    await stateHome(t);
    const dir = await tempDir(t);
    const file = await sshLabFileIn(dir, await refusingSshd(t));
    kubeconfigAt(t, join(dir, "kube", "config"));
    await mkdir(join(dir, ".kubelab"));
    const cluster = join(dir, ".kubelab", "lab");
    await writeFile(cluster, "not a directory\n");
    for (const argv of [
      ["up", "-f", file],
      ["down", "-f", file, "--force"],
    ]) {
      clearError(`kubelab ${argv[0]}`, await kubelab(...argv), cluster);
      assert.equal(await readFile(cluster, "utf8"), "not a directory\n");
    }
  });

  it("logs is not writable: up stops with it named (as root, whom no mode stops, up goes on)", async (t) => {
    await stateHome(t);
    const { file, cluster } = await lab(t, await refusingSshd(t));
    const logs = join(cluster, "logs");
    await mkdir(logs);
    await writeFile(join(logs, "earlier-up.log"), "an earlier run\n");
    await chmod(logs, 0o500);
    const before = await readdir(logs);
    // The mode goes back before the temporary directory is removed.
    const r = await kubelab("up", "-f", file).finally(() => chmod(logs, 0o700));
    if (asRoot) {
      // Root writes the log anyway: up goes on to the hosts, and the earlier log stays.
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /SSH authentication .* failed/);
    } else {
      clearError("up", r, logs);
      assert.deepEqual(await readdir(logs), before);
      assert.deepEqual((await readdir(logs)).sort(), before.sort());
    }
    assert.equal(await readFile(join(logs, "earlier-up.log"), "utf8"), "an earlier run\n");
  });
});

describe("a user kubeconfig kubelab cannot use", () => {
  /** A kubeconfig holding `content`, at the path given. */
  const holding = (content: string | Buffer) => async (p: string) => {
    await writeFile(p, content);
    return p;
  };
  const kinds: [string, (path: string) => Promise<string>][] = [
    ["malformed YAML", holding("apiVersion: v1\nclusters: [\n  - name: a\n")],
    ["YAML that is no kubeconfig", holding("- just\n- a list\n")],
    ["a kubeconfig whose clusters is no list", holding("apiVersion: v1\nclusters: 5\n")],
    ["binary", holding(Buffer.from([0, 159, 146, 150, 10, 0, 1]))],
    [
      "a directory",
      async (p) => {
        await mkdir(join(p, "inside"), { recursive: true });
        return p;
      },
    ],
    [
      "a link to itself",
      async (p) => {
        await symlink(p, p);
        return p;
      },
    ],
    [
      "a path through a file",
      async (p) => {
        await writeFile(p, "a file where a directory should be\n");
        return join(p, "config");
      },
    ],
  ];
  for (const [kind, make] of kinds) {
    it(`${kind}: up, kubeconfig and down stop with the file named, and leave it as it was`, async (t) => {
      await stateHome(t);
      const { dir, file } = await lab(t, await refusingSshd(t));
      await mkdir(join(dir, "kube"));
      const base = join(dir, "kube", "config");
      const path = await make(base);
      kubeconfigAt(t, path);
      const before = await snapshot(base);
      for (const argv of [
        ["up", "-f", file],
        ["kubeconfig", "-f", file],
        ["down", "-f", file, "--force"],
      ]) {
        clearError(`${kind}: kubelab ${argv[0]}`, await kubelab(...argv), path);
        assert.equal(await snapshot(base), before, `kubelab ${argv[0]} changed ${base}`);
      }
    });
  }

  it("unreadable (mode 000): the same, named (as root, who reads it anyway, it is left alone)", async (t) => {
    await stateHome(t);
    const { dir, file } = await lab(t, await refusingSshd(t));
    await mkdir(join(dir, "kube"));
    const path = join(dir, "kube", "config");
    await writeFile(path, "apiVersion: v1\nkind: Config\n");
    await chmod(path, 0);
    kubeconfigAt(t, path);
    for (const argv of [
      ["up", "-f", file],
      ["kubeconfig", "-f", file],
      ["down", "-f", file, "--force"],
    ]) {
      const r = await kubelab(...argv);
      if (asRoot) assert.match(r.err, /SSH authentication .* failed/, r.err);
      else clearError(`kubelab ${argv[0]}`, r, path);
      assert.equal((await lstat(path)).mode & 0o777, 0);
      await chmod(path, 0o600);
      assert.equal(await readFile(path, "utf8"), "apiVersion: v1\nkind: Config\n");
      await chmod(path, 0);
    }
  });
});
