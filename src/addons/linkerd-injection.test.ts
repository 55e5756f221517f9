import assert from "node:assert/strict";
import { test } from "node:test";
import { hasProxy } from "./linkerd-injection.js";

test("hasProxy: Linkerd's proxy as a container or as a native sidecar; other pods have none", () => {
  const c = (name: string) => ({ name, image: "x" });
  assert.equal(hasProxy({ spec: { containers: [c("app"), c("linkerd-proxy")] } }), true);
  assert.equal(
    hasProxy({ spec: { initContainers: [c("linkerd-init"), c("linkerd-proxy")], containers: [c("app")] } }),
    true,
  );
  assert.equal(hasProxy({ spec: { initContainers: [c("linkerd-init")], containers: [c("app")] } }), false);
  assert.equal(hasProxy({}), false);
});
