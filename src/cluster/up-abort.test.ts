// up aborted while its first phase waits on the nodes: an SSH server inside the test (ssh2's,
// on loopback) that accepts every command and never answers one. The abort closes the
// connections, the phase ends failed and no later phase starts.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import ssh2 from "ssh2";
import { parse } from "yaml";
import { recordingStatus } from "../../test/helpers/recording-status.js";
import { ed25519Key } from "../../test/helpers/ssh-lab.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { upstreamSource } from "../artifacts/package-source.js";
import { directoryStore } from "../artifacts/store.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { validateCluster } from "../plan/validate.js";
import type { MachineProvider } from "../providers/types.js";
import { PLAIN_NODE } from "../render/node-environment.js";
import { up } from "./up.js";

/** silentSshd lets anyone in and takes every command without ever ending one. */
async function silentSshd() {
  const seen = { commands: [] as string[], open: 0, onCommand: () => {} };
  // ssh2 is CommonJS: Node finds Client among its named exports, not Server.
  const server = new ssh2.Server({ hostKeys: [ed25519Key()] }, (client) => {
    seen.open++;
    client.on("close", () => seen.open--);
    client.on("error", () => {});
    client.on("authentication", (ctx) => ctx.accept());
    client.on("session", (accept) => {
      accept().on("exec", (acceptExec, _reject, info) => {
        acceptExec();
        seen.commands.push(info.command);
        seen.onCommand();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, seen, port: (server.address() as AddressInfo).port };
}

test("an abort while a phase waits on the nodes closes their connections and starts nothing more", async (t) => {
  const dir = await tempDir(t);
  const sshd = await silentSshd();
  t.after(() => sshd.server.close());
  const key = join(dir, "id_rsa");
  await writeFile(key, ed25519Key(), { mode: 0o600 });
  const result = validateCluster(parse(DEFAULT_CLUSTER_YAML), { file: "lab.yaml" });
  assert.ok(result.ok);
  const plan = result.plan;
  const endpoint = { host: "127.0.0.1", port: sshd.port, user: "root", privateKeyPath: key };
  const provider = {
    name: "ssh",
    nodeEnvironment: PLAIN_NODE,
    list: async () => plan.nodes.map((n) => ({ node: n.name, state: "running" as const, endpoint })),
  } as unknown as MachineProvider;

  const controller = new AbortController();
  // Every node is in its first command: now the user presses Ctrl-C.
  sshd.seen.onCommand = () => {
    if (sshd.seen.commands.length === plan.nodes.length) controller.abort(new DOMException("test", "AbortError"));
  };
  const status = recordingStatus();
  const started = Date.now();
  await assert.rejects(
    up(plan, {
      provider,
      packages: upstreamSource(plan, directoryStore(join(dir, "store"))),
      clusterDir: join(dir, ".kubelab", "lab"),
      fileServer: false,
      addons: false,
      log: () => {},
      status,
      signal: controller.signal,
    }),
    (e: Error) => e.name === "AbortError",
  );
  assert.ok(Date.now() - started < 5_000, "stopped at once, not after a command timeout");
  assert.equal(sshd.seen.commands.length, plan.nodes.length, "no command after the abort");
  assert.deepEqual(status.lines, [`start Gather facts [${plan.nodes.map((n) => n.name).join(",")}]`, "failed"]);
  // The server sees every connection end.
  for (let i = 0; i < 50 && sshd.seen.open > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(sshd.seen.open, 0);
});
