// Image names as the CRI looks them up: what a bundle imports must match what kubelet asks for.
// A pinned digest: the image is fetched by it, and a registry serving other content is refused.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { UserError } from "../errors.js";
import { canonicalName, parseReference, pullImage } from "./registry.js";

test("short Docker Hub names get their registry and library/ prefix; full names stay as they are", () => {
  assert.equal(canonicalName("prom/prometheus:v2.55.1"), "docker.io/prom/prometheus:v2.55.1");
  assert.equal(canonicalName("busybox"), "docker.io/library/busybox:latest");
  assert.equal(canonicalName("registry.k8s.io/pause:3.10.2"), "registry.k8s.io/pause:3.10.2");
  assert.equal(canonicalName("localhost:5000/a/b:c"), "localhost:5000/a/b:c");
  const digest = `sha256:${"a".repeat(64)}`;
  assert.equal(canonicalName(`quay.io/metallb/speaker@${digest}`), `quay.io/metallb/speaker@${digest}`);
  assert.throws(() => parseReference("Upper/Case:1"), /invalid image name/);
});

const digestOf = (data: Buffer | string) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** A registry holding one amd64 image under tag v1, answering every manifest request with `served`. */
function registry(asked: string[], served?: string) {
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux" }));
  const layer = Buffer.from("a layer");
  const blob = (data: Buffer, mediaType: string) => ({ mediaType, digest: digestOf(data), size: data.length });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: blob(config, "application/vnd.oci.image.config.v1+json"),
    layers: [blob(layer, "application/vnd.oci.image.layer.v1.tar")],
  });
  const blobs = new Map([
    [digestOf(config), config],
    [digestOf(layer), layer],
  ]);
  const f = (async (input: string | URL | Request) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    asked.push(url);
    const path = new URL(url).pathname;
    if (path.includes("/manifests/"))
      return new Response(served ?? manifest, {
        headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
      });
    const data = blobs.get(path.slice(path.lastIndexOf("/") + 1));
    return data ? new Response(data) : new Response("", { status: 404 });
  }) as typeof fetch;
  return { f, digest: digestOf(manifest) };
}

test("pullImage with a pinned digest asks for the manifest by that digest", async () => {
  const asked: string[] = [];
  const { f, digest } = registry(asked);
  const pulled = await pullImage("registry.example/app:v1", { arch: "amd64", fetch: f, digest });
  assert.equal(pulled.manifest.digest, digest);
  assert.equal(pulled.name, "registry.example/app:v1");
  assert.equal(asked[0], `https://registry.example/v2/app/manifests/${digest}`);
});

test("pullImage refuses a manifest whose content is not the pinned digest", async () => {
  const other = JSON.stringify({ schemaVersion: 2, config: {}, layers: [] });
  const { f, digest } = registry([], other);
  await assert.rejects(pullImage("registry.example/app:v1", { arch: "amd64", fetch: f, digest }), (e) => {
    assert.ok(e instanceof UserError);
    assert.equal(
      e.message,
      `https://registry.example/v2/app/manifests/${digest}: content has digest ${digestOf(other)}`,
    );
    return true;
  });
});
