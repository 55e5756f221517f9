// How a watch recognises an expired resourceVersion, from the shapes the API server reports it in.
import assert from "node:assert/strict";
import { test } from "node:test";
import { expiredMessage } from "./watch.js";

test("an expired resourceVersion is recognised as an ERROR event's Status and as the watch request's HTTP status", () => {
  const status = {
    kind: "Status",
    status: "Failure",
    reason: "Expired",
    code: 410,
    message: "too old resource version: 1 (214)",
  };
  assert.equal(expiredMessage(status), "too old resource version: 1 (214)");
  assert.equal(expiredMessage(Object.assign(new Error("Gone"), { statusCode: 410 })), "Gone");
  assert.equal(expiredMessage({ kind: "Status", code: 500, message: "etcd is down" }), undefined);
  assert.equal(expiredMessage(Object.assign(new Error("Forbidden"), { statusCode: 403 })), undefined);
  assert.equal(expiredMessage(null), undefined);
});
