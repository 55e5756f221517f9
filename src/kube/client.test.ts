// The API from the host: waits that name what they wait for, and requests that ride out an API
// server restarting (loopback servers only).
import assert from "node:assert/strict";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { selfSignedServerCert } from "../addons/linkerd-identity.js";
import { UserError } from "../errors.js";
import { kubeConfig, poll, requestApi, waitApiReady } from "./client.js";

test("waitApiReady names the server and why it is not ready", async () => {
  const kc = kubeConfig(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`);
  await assert.rejects(
    waitApiReady(kc, { timeoutMs: 500, intervalMs: 100 }),
    /^WaitTimeout: API server https:\/\/127\.0\.0\.1:1: gave up after 1 s: not reachable \(connect ECONNREFUSED 127\.0\.0\.1:1\)$/,
  );
});

const kubeconfigFor = (server: string) =>
  kubeConfig(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`);

test("requestApi rides out an API server that resets connections and answers 503 while it starts", async (t) => {
  const { certPEM, keyPEM } = await selfSignedServerCert("127.0.0.1");
  let seen = 0;
  const server = createServer({ cert: certPEM, key: keyPEM }, (req, res) => {
    seen++;
    if (seen === 1) return req.socket.destroy(); // a reset: the server going down
    if (seen === 2) return res.writeHead(503).end("starting");
    res.writeHead(200, { "content-type": "application/json" }).end('{"kind":"Status"}');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const kc = kubeconfigFor(`https://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const res = await requestApi(kc, "GET", "/api/v1", undefined, { retryMs: 20_000 });
  assert.equal(res.status, 200);
  assert.equal(seen, 3);
});

test("requestApi gives up on an API server that stays away with a clear error, not a stack trace", async () => {
  const kc = kubeconfigFor("https://127.0.0.1:1");
  const e = await requestApi(kc, "GET", "/api/v1", undefined, { retryMs: 600 }).catch((err: unknown) => err);
  assert.ok(e instanceof UserError);
  assert.equal(e.exitCode, 1);
  assert.match(e.message, /^the API server https:\/\/127\.0\.0\.1:1 did not answer for 1 s: connect ECONNREFUSED/);
  assert.match(e.hint ?? "", /the next kubelab up continues from here/);
});

test("poll keeps waiting through a refused connection; other errors still fail it", async () => {
  let calls = 0;
  const refused = Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:6443"), { code: "ECONNREFUSED" });
  const value = await poll(
    "x",
    async () => {
      calls++;
      if (calls < 3) throw new Error("request failed", { cause: refused });
      return { done: true, value: 42 };
    },
    { intervalMs: 10, timeoutMs: 5_000 },
  );
  assert.equal(value, 42);
  await assert.rejects(
    poll(
      "y",
      async () => {
        throw new TypeError("a bug");
      },
      { intervalMs: 10 },
    ),
    /a bug/,
  );
});

test("requestApi waits out a 403 while /readyz says the server is starting; a 403 it stands by comes back at once", async (t) => {
  const { certPEM, keyPEM } = await selfSignedServerCert("127.0.0.1");
  // Starting: the first two requests are refused and /readyz fails; then everything answers.
  let mode: "starting" | "forbidden" = "starting";
  let asked = 0;
  const server = createServer({ cert: certPEM, key: keyPEM }, (req, res) => {
    const starting = mode === "starting" && asked <= 2;
    if (req.url === "/readyz") return res.writeHead(starting ? 500 : 200).end(starting ? "[-]rbac" : "ok");
    asked++;
    if (mode === "forbidden") return res.writeHead(403).end("{}");
    res.writeHead(asked <= 2 ? 403 : 200).end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const kc = kubeconfigFor(`https://127.0.0.1:${(server.address() as AddressInfo).port}`);
  assert.equal((await requestApi(kc, "GET", "/apis", undefined, { retryMs: 20_000 })).status, 200);
  assert.equal(asked, 3);
  // Ready, and still refusing: that is the server's answer, returned at once.
  mode = "forbidden";
  asked = 0;
  assert.equal((await requestApi(kc, "GET", "/apis", undefined, { retryMs: 20_000 })).status, 403);
  assert.equal(asked, 1);
});
