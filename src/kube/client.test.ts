// waitApiReady against a loopback port nothing listens on: it gives up naming the server and why.
import assert from "node:assert/strict";
import { test } from "node:test";
import { kubeConfig, waitApiReady } from "./client.js";

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
