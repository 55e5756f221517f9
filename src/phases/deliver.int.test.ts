// File delivery against a real OpenSSH server on 127.0.0.1 (the "node" is this host, writing
// into a temp dir) and the real file server on loopback: fetched over HTTP when the node
// reaches the server, uploaded over SSH when it does not, refused when the sum is wrong.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { parse } from "yaml";
import { startSshd } from "../../test/helpers/sshd.js";
import { sha256 } from "../artifacts/local.js";
import { type FileServer, serveArtifacts } from "../artifacts/serve.js";
import type { ArtifactStore } from "../artifacts/store.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { clusterSchema } from "../config/schema.js";
import { buildPlan } from "../plan/build.js";
import { connect } from "../remote/ssh.js";
import type { PinnedFile } from "../versions.js";
import { installFile, unpackFile } from "./deliver.js";
import type { PhaseContext } from "./phase.js";

interface Setup {
  dir: string;
  files: { binary: PinnedFile; tarball: PinnedFile };
  store: ArtifactStore;
  context(fileServer: FileServer | undefined): Promise<{ ctx: PhaseContext; lines: string[] }>;
}

async function setup(t: TestContext): Promise<Setup | undefined> {
  const sshd = await startSshd(t);
  if (!sshd) return undefined;
  const dir = await mkdtemp(join(tmpdir(), "kubelab-deliver-"));
  t.after(() => rm(dir, { recursive: true, force: true }));

  // A tarball made by the real tar, with a file name a shell would mangle.
  const src = join(dir, "src");
  await mkdir(join(src, "bin"), { recursive: true });
  await writeFile(join(src, "bin", "tool $(x) 'q'"), "#!/bin/sh\necho tool\n", { mode: 0o755 });
  execFileSync("tar", ["-C", src, "-czf", join(dir, "release.tar.gz"), "bin"]);
  const blobs = new Map<string, Buffer>();
  const add = (url: string, data: Buffer): PinnedFile => {
    const sum = sha256(data);
    blobs.set(sum, data);
    return { url, sha256: sum };
  };
  const files = {
    binary: add("https://example.invalid/runc", Buffer.from("\x7fELF not really\n".repeat(1000))),
    tarball: add("https://example.invalid/release.tar.gz", await readFile(join(dir, "release.tar.gz"))),
  };
  const store: ArtifactStore = {
    async get(f) {
      const b = blobs.get(f.sha256);
      if (!b) throw new Error(`no ${f.url}`);
      return b;
    },
  };
  const plan = buildPlan(clusterSchema.parse(parse(DEFAULT_CLUSTER_YAML)));
  return {
    dir,
    files,
    store,
    async context(fileServer) {
      const remote = await connect("node1", sshd.endpoint(), {
        knownHostsFile: join(dir, "known_hosts"),
        hostKeyPolicy: "trust-on-first-use",
        connectTimeoutMs: 10_000,
      });
      t.after(() => remote.close());
      const lines: string[] = [];
      const ctx: PhaseContext = {
        plan,
        hosts: new Map([["node1", remote]]),
        facts: new Map(),
        packages: {
          kubernetes: { debs: [] },
          artifacts: store,
          containerdFiles: () => {
            throw new Error("unused");
          },
        },
        fileServer,
        dryRun: false,
        concurrency: 1,
        log: (l) => lines.push(l),
        changes: [],
        restart: new Map(),
      };
      return { ctx, lines };
    },
  };
}

async function assertDelivered(s: Setup, target: string) {
  const runc = join(target, "sbin", "runc");
  assert.deepEqual(await readFile(runc), await s.store.get(s.files.binary));
  assert.equal((await stat(runc)).mode & 0o777, 0o755);
  const tool = join(target, "opt", "bin", "tool $(x) 'q'");
  assert.equal(await readFile(tool, "utf8"), "#!/bin/sh\necho tool\n");
  assert.equal((await stat(tool)).mode & 0o777, 0o755);
}

async function deliver(ctx: PhaseContext, s: Setup, target: string) {
  const remote = ctx.hosts.get("node1");
  assert.ok(remote);
  await installFile(ctx, remote, s.files.binary, join(target, "sbin", "runc"), 0o755);
  await unpackFile(ctx, remote, s.files.tarball, join(target, "opt"));
}

test("nodes fetch files from the host's file server and unpack tarballs it serves decompressed", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const server = await serveArtifacts(s.store, "127.0.0.1");
  t.after(() => server.close());
  const requested: string[] = [];
  const counting: FileServer = {
    ...server,
    async offer(f, o) {
      const offer = await server.offer(f, o);
      requested.push(offer.url);
      return offer;
    },
  };
  const { ctx, lines } = await s.context(counting);
  const target = join(s.dir, "fetched");
  await deliver(ctx, s, target);
  await assertDelivered(s, target);
  assert.deepEqual(lines, [], "no fallback to SSH");
  assert.equal(requested.length, 2);
  // The tarball is served as a plain tar, with the sum of what is served.
  const tar = await (await fetch(requested[1] as string)).arrayBuffer();
  assert.notEqual(Buffer.from(tar).subarray(0, 2).toString("hex"), "1f8b", "not gzip'ed");
  assert.equal(requested[1]?.split("/").pop(), sha256(Buffer.from(tar)));
  // Only offered files are served.
  assert.equal((await fetch(requested[0]?.replace(/[0-9a-f]{64}$/, "0".repeat(64)) as string)).status, 404);
});

test("a node that cannot reach the file server gets files over SSH, and is not asked again", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const server = await serveArtifacts(s.store, "127.0.0.1");
  await server.close(); // offers keep their URLs, but nothing listens there any more
  const { ctx, lines } = await s.context(server);
  const target = join(s.dir, "uploaded");
  await deliver(ctx, s, target);
  await assertDelivered(s, target);
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(
    lines[0] as string,
    /^node1: cannot fetch from the host's file server http:\/\/127\.0\.0\.1:\d+\/.*uploading over SSH instead$/,
  );
});

test("a file whose sum does not match what the host announced is refused, not installed", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const server = await serveArtifacts(s.store, "127.0.0.1");
  t.after(() => server.close());
  const lying: FileServer = {
    ...server,
    async offer(f, o) {
      const offer = await server.offer(f, o);
      return { ...offer, sha256: "0".repeat(64) };
    },
  };
  const { ctx, lines } = await s.context(lying);
  const remote = ctx.hosts.get("node1");
  assert.ok(remote);
  const dest = join(s.dir, "refused", "runc");
  await assert.rejects(installFile(ctx, remote, s.files.binary, dest, 0o755), /FAILED|did NOT match/);
  await assert.rejects(stat(dest), { code: "ENOENT" });
  assert.deepEqual(lines, []);
});
