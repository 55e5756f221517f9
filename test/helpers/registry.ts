/**
 * A real OCI registry for tests: `crane registry serve` (go-containerregistry, built by
 * scripts/dev-tools/crane.sh) on 127.0.0.1, storing blobs on disk in a temp dir, stopped
 * when the test ends. Images are pushed with `crane push` from OCI image layouts.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

export interface Registry {
  /** host:port */
  readonly host: string;
  /** Pushes an OCI image archive (a tar of an image layout) as host/repository:tag. */
  push(archive: string, repositoryAndTag: string): Promise<void>;
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

/**
 * startRegistry runs a registry on a free port until the test ends: on loopback, or with
 * `listen: "0.0.0.0"` on every address, for machines that reach this host on a test bridge.
 */
export async function startRegistry(
  t: Pick<TestContext, "after">,
  crane: string,
  listen = "127.0.0.1",
): Promise<Registry & { readonly port: number }> {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-registry-"));
  let child: ChildProcess | undefined;
  t.after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });
  // A port picked at random in the ephemeral range; crane prints nothing to wait on, so poll.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 40_000 + Math.floor(Math.random() * 20_000);
    if (await listening(port)) continue;
    let log = "";
    await mkdir(join(dir, "blobs"), { recursive: true }); // crane serves from an existing directory
    child = spawn(crane, ["registry", "serve", "--address", `${listen}:${port}`, "--disk", join(dir, "blobs")], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stderr?.on("data", (d) => {
      log += d;
    });
    for (let i = 0; i < 50 && child.exitCode === null; i++) {
      if (await listening(port)) {
        const host = `127.0.0.1:${port}`;
        return {
          host,
          port,
          async push(archive, ref) {
            const layout = await mkdtemp(join(dir, "layout-"));
            await execFileP("tar", ["-C", layout, "-xf", archive]);
            await execFileP(crane, ["push", "--insecure", layout, `${host}/${ref}`]);
            await rm(layout, { recursive: true, force: true });
          },
        };
      }
      await sleep(100);
    }
    if (child.exitCode === null) child.kill("SIGKILL");
    if (!/address already in use/.test(log)) throw new Error(`crane registry serve did not start: ${log}`);
  }
  throw new Error("no free port for the test registry");
}
