/**
 * Pulling one platform of an image from an OCI registry (distribution API v2), anonymously,
 * for offline bundles: the manifest (from an index, the linux/<arch> entry), its config and
 * layers, every blob checked against its digest. Registries that want a token get an
 * anonymous one (the Bearer challenge of registry.k8s.io, ghcr.io, quay.io, Docker Hub).
 * A mirror map sends a registry's requests elsewhere (a local mirror, a pull-through cache),
 * while the image keeps its name.
 */
import { createHash } from "node:crypto";
import { UserError } from "../errors.js";
import type { Arch } from "../versions.js";
import { type Blob, type BuiltImage, layoutArchive } from "./layout.js";

/** A parsed image reference. */
export interface ImageReference {
  /** Registry host as written (`registry.k8s.io`, `docker.io`, `127.0.0.1:5000`). */
  readonly registry: string;
  /** Repository path (`coredns/coredns`, `library/busybox`). */
  readonly repository: string;
  /** Tag or digest (`v1.14.6`, `sha256:...`). */
  readonly reference: string;
}

/** parseReference parses `[registry/]repository[:tag][@digest]` the way container runtimes do. */
export function parseReference(name: string): ImageReference {
  const at = name.indexOf("@");
  const [path, digest] = at === -1 ? [name, undefined] : [name.slice(0, at), name.slice(at + 1)];
  const slash = path.indexOf("/");
  const first = slash === -1 ? "" : path.slice(0, slash);
  // A first component with a dot, a colon or "localhost" is a registry host (docker's rule).
  const hasRegistry = first !== "" && (first.includes(".") || first.includes(":") || first === "localhost");
  const registry = hasRegistry ? first : "docker.io";
  let repository = hasRegistry ? path.slice(slash + 1) : path;
  let tag: string | undefined;
  const colon = repository.lastIndexOf(":");
  if (colon !== -1) {
    tag = repository.slice(colon + 1);
    repository = repository.slice(0, colon);
  }
  if (registry === "docker.io" && !repository.includes("/")) repository = `library/${repository}`;
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(repository))
    throw new UserError(`invalid image name ${name}`);
  return { registry, repository, reference: digest ?? tag ?? "latest" };
}

/**
 * canonicalName is the full reference the CRI looks an image up by: `prom/prometheus:v2`
 * is `docker.io/prom/prometheus:v2`, `busybox` is `docker.io/library/busybox:latest`. An
 * image imported under the short name would never be found by the kubelet.
 */
export function canonicalName(name: string): string {
  const ref = parseReference(name);
  const sep = ref.reference.includes(":") ? "@" : ":";
  return `${ref.registry}/${ref.repository}${sep}${ref.reference}`;
}

/** The URL the registry's API lives at: Docker Hub's API host differs from its name. */
function registryBase(registry: string, mirrors: ReadonlyMap<string, string>): string {
  const mirror = mirrors.get(registry);
  if (mirror) return mirror.replace(/\/+$/, "");
  return `https://${registry === "docker.io" ? "registry-1.docker.io" : registry}`;
}

const ACCEPT_MANIFEST = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

const digestOf = (data: Buffer) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** Options of {@link pullImage}. */
export interface PullOptions {
  readonly arch: Arch;
  /** Registry host -> base URL of the registry to use instead (e.g. `http://127.0.0.1:5000`). */
  readonly mirrors?: ReadonlyMap<string, string>;
  readonly fetch?: typeof fetch;
  /**
   * The digest `name` must resolve to (pinned in versions.ts): the manifest is fetched by it and
   * its content checked, so the registry, or a mirror, cannot serve another image.
   */
  readonly digest?: string;
}

/** A pulled image: the manifest's exact bytes (its digest is the image's), config, layers. */
export interface PulledImage {
  readonly name: string;
  readonly manifest: Blob & { readonly mediaType: string };
  readonly config: Blob;
  readonly layers: readonly (Blob & { readonly mediaType: string })[];
}

/** A client for one registry and repository, with an anonymous token when one is asked for. */
function client(ref: ImageReference, opts: PullOptions) {
  const f = opts.fetch ?? fetch;
  const base = `${registryBase(ref.registry, opts.mirrors ?? new Map())}/v2/${ref.repository}`;
  let token: string | undefined;

  async function authenticate(challenge: string): Promise<void> {
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!/^Bearer /i.test(challenge) || !params.realm)
      throw new UserError(`${ref.registry} asks for credentials kubelab does not have (${challenge})`);
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set("service", params.service);
    url.searchParams.set("scope", params.scope ?? `repository:${ref.repository}:pull`);
    const res = await f(url);
    if (!res.ok) throw new UserError(`${ref.registry}: anonymous token refused (HTTP ${res.status})`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    token = body.token ?? body.access_token;
  }

  async function get(path: string, accept?: string): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {};
      if (accept) headers.accept = accept;
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await f(`${base}${path}`, { headers, redirect: "follow" }).catch((e: Error) => {
        throw new UserError(`cannot reach ${base}${path}: ${e.message}`, { exitCode: 1 });
      });
      if (res.status === 401 && attempt === 0) {
        await authenticate(res.headers.get("www-authenticate") ?? "");
        continue;
      }
      if (!res.ok) throw new UserError(`${base}${path}: HTTP ${res.status}`, { exitCode: 1 });
      return res;
    }
  }

  async function blob(digest: string): Promise<Blob> {
    const data = Buffer.from(await (await get(`/blobs/${digest}`)).arrayBuffer());
    const got = digestOf(data);
    if (got !== digest) throw new UserError(`${base}/blobs/${digest}: content has digest ${got}`, { exitCode: 1 });
    return { digest, size: data.length, data };
  }

  async function manifest(reference: string) {
    const res = await get(`/manifests/${reference}`, ACCEPT_MANIFEST);
    const data = Buffer.from(await res.arrayBuffer());
    const digest = digestOf(data);
    if (reference.startsWith("sha256:") && digest !== reference)
      throw new UserError(`${base}/manifests/${reference}: content has digest ${digest}`, { exitCode: 1 });
    const parsed = JSON.parse(data.toString("utf8")) as Record<string, unknown>;
    const mediaType = (parsed.mediaType as string | undefined) ?? res.headers.get("content-type") ?? "";
    return { data, digest, mediaType, parsed };
  }

  return { blob, manifest, base };
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

/** pullImage fetches the linux/<arch> image of `name` (by `opts.digest` when one is pinned). */
export async function pullImage(name: string, opts: PullOptions): Promise<PulledImage> {
  const ref = parseReference(name);
  const c = client(ref, opts);
  let m = await c.manifest(opts.digest ?? ref.reference);
  if (/index|manifest\.list/.test(m.mediaType) || Array.isArray(m.parsed.manifests)) {
    const entries = (m.parsed.manifests ?? []) as Descriptor[];
    const pick = entries.find((e) => e.platform?.os === "linux" && e.platform.architecture === opts.arch);
    if (!pick)
      throw new UserError(`${name} has no linux/${opts.arch} image`, {
        details: `platforms: ${entries.map((e) => `${e.platform?.os}/${e.platform?.architecture}`).join(", ")}`,
      });
    m = await c.manifest(pick.digest);
  }
  const config = m.parsed.config as Descriptor | undefined;
  const layers = (m.parsed.layers ?? []) as Descriptor[];
  if (!config) throw new UserError(`${c.base}: ${name} is not an image manifest (${m.mediaType})`);
  const configBlob = await c.blob(config.digest);
  const arch = (JSON.parse(configBlob.data.toString("utf8")) as { architecture?: string }).architecture;
  if (arch && arch !== opts.arch) throw new UserError(`${name}: the manifest for ${opts.arch} holds an ${arch} image`);
  return {
    name: canonicalName(name),
    manifest: { digest: m.digest, size: m.data.length, data: m.data, mediaType: m.mediaType },
    config: configBlob,
    layers: await Promise.all(layers.map(async (l) => ({ ...(await c.blob(l.digest)), mediaType: l.mediaType }))),
  };
}

/** pulledArchive lays a pulled image out as an OCI archive `ctr images import` reads, under its name. */
export function pulledArchive(image: PulledImage, arch: Arch): BuiltImage {
  const m = image.manifest;
  return layoutArchive(
    image.name,
    { mediaType: m.mediaType, digest: m.digest, size: m.size, platform: { architecture: arch, os: "linux" } },
    [m, image.config, ...image.layers],
    image.config.digest,
  );
}
