// Delivering pinned files to a fake node: uploaded over the connection without a file server;
// fetched by the node when there is one; uploaded after all (and not fetched again) when the
// node cannot reach it; refused when the node finds the wrong sum. Delivery records no change
// of its own: the phases that call it do, and never call it in a dry run.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fakeCluster, fakeStore } from "../../test/helpers/fake-node.js";
import { REST } from "../../test/helpers/fake-remote.js";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import type { FileServer } from "../artifacts/serve.js";
import { CommandError } from "../errors.js";
import type { PinnedFile } from "../versions.js";
import { installFile, unpackFile } from "./deliver.js";

const plan = defaultPlan();
const RUNC: PinnedFile = { url: "https://example.invalid/runc.amd64", sha256: "a".repeat(64) };
const RELEASE: PinnedFile = { url: "https://example.invalid/containerd.tar.gz", sha256: "b".repeat(64) };
const FETCH = ["sh", "-c", /^set -eu\n/, "kubelab-fetch", REST] as const;

/** A file server that offers every file at a URL named by its sum (a different sum when decompressed). */
function fakeServer(offered: string[] = []): FileServer {
  return {
    address: plan.network.gateway,
    async offer(file, opts) {
      const sha256 = opts?.gunzip ? file.sha256.replace(/./, "f") : file.sha256;
      offered.push(`${file.url}${opts?.gunzip ? " (gunzip)" : ""}`);
      return { url: `http://${plan.network.gateway}:8080/${sha256}`, sha256 };
    },
    async close() {},
  };
}

async function worker(fileServer?: FileServer) {
  const c = await fakeCluster(plan, {}, { fileServer });
  return { ...c, remote: c.node("worker-1") };
}

test("without a file server, a file is uploaded with its mode and a tarball unpacked from a spool file", async () => {
  const { ctx, remote } = await worker();
  remote.on(["mkdir", "-p", "/opt/cni/bin"]).on(["tar", REST]).on(["rm", "-f", REST]);
  await installFile(ctx, remote, RUNC, "/usr/local/sbin/runc", 0o755);
  await unpackFile(ctx, remote, RELEASE, "/opt/cni/bin");
  const spool = `/var/cache/kubelab/${RELEASE.sha256}.tar.gz`;
  assert.deepEqual(
    remote.calls.filter((c) => c.kind === "writeFile").map((c) => [c.path, c.mode]),
    [
      ["/usr/local/sbin/runc", 0o755],
      [spool, 0o644],
    ],
  );
  assert.equal(remote.files.get("/usr/local/sbin/runc"), (await fakeStore().get(RUNC)).toString());
  assert.deepEqual(remote.commands(), [
    ["mkdir", "-p", "/opt/cni/bin"],
    ["tar", "-C", "/opt/cni/bin", "-xzf", spool],
    ["rm", "-f", spool],
  ]);
  assert.deepEqual(ctx.changes, []);
});

test("with a file server, the node fetches each file itself, tarballs decompressed, and nothing is uploaded", async () => {
  const offered: string[] = [];
  const { ctx, remote, lines } = await worker(fakeServer(offered));
  remote.on(FETCH);
  await installFile(ctx, remote, RUNC, "/usr/local/sbin/runc", 0o755);
  await unpackFile(ctx, remote, RELEASE, "/opt/cni/bin");
  const url = (sha: string) => `http://${plan.network.gateway}:8080/${sha}`;
  const gunzipped = RELEASE.sha256.replace(/./, "f");
  assert.deepEqual(
    remote.commands().map((a) => a.slice(3)),
    [
      ["kubelab-fetch", url(RUNC.sha256), RUNC.sha256, "755", "/usr/local/sbin/runc", ""],
      ["kubelab-fetch", url(gunzipped), gunzipped, "644", "", "/opt/cni/bin"],
    ],
  );
  assert.deepEqual(offered, [RUNC.url, `${RELEASE.url} (gunzip)`]);
  assert.deepEqual(remote.writes(), []);
  assert.deepEqual(lines, []);
});

test("a node that cannot reach the server says so once, then gets every file over the connection", async () => {
  const c = await worker(fakeServer());
  const { ctx, remote, lines } = c;
  remote.on(FETCH, { code: 90, stderr: "curl: (7) Failed to connect to 192.168.56.1 port 8080\n" });
  remote.on(["mkdir", REST]).on(["tar", REST]).on(["rm", REST]);
  await installFile(ctx, remote, RUNC, "/usr/local/sbin/runc", 0o755);
  await unpackFile(ctx, remote, RELEASE, "/opt/cni/bin");
  assert.equal(remote.commands().filter((a) => a[3] === "kubelab-fetch").length, 1, "asked once");
  assert.deepEqual(remote.writes(), ["/usr/local/sbin/runc", `/var/cache/kubelab/${RELEASE.sha256}.tar.gz`]);
  assert.deepEqual(lines, [
    `worker-1: cannot fetch from the host's file server http://${plan.network.gateway}:8080/${RUNC.sha256} ` +
      "(curl: (7) Failed to connect to 192.168.56.1 port 8080); uploading over SSH instead",
  ]);
  // Only that node: another one still fetches.
  const other = c.node("worker-2").on(FETCH);
  await installFile(ctx, other, RUNC, "/usr/local/sbin/runc", 0o755);
  assert.deepEqual(other.writes(), []);
});

test("a file whose sum the node finds wrong is refused with sha256sum's words, not uploaded instead", async () => {
  const { ctx, remote } = await worker(fakeServer());
  remote.on(FETCH, { code: 1, stderr: "sha256sum: WARNING: 1 computed checksum did NOT match\n" });
  await assert.rejects(installFile(ctx, remote, RUNC, "/usr/local/sbin/runc", 0o755), (e: Error) => {
    assert.ok(e instanceof CommandError);
    assert.equal(e.host, "worker-1");
    assert.match(e.message, /exited 1:\nsha256sum: WARNING: 1 computed checksum did NOT match$/);
    return true;
  });
  assert.deepEqual(remote.writes(), []);
});
