/**
 * OCI image archives: a tar of an OCI image layout (`oci-layout`, `index.json`,
 * `blobs/sha256/<digest>`) holding one linux image, the format `ctr images import` reads.
 *
 * The image name goes where containerd's own exporter puts it (core/images/archive in
 * containerd v2): the index.json manifest descriptor carries `io.containerd.image.name` (the
 * full reference, which import uses as is) and `org.opencontainers.image.ref.name` (the tag
 * only, which other OCI tools read).
 *
 * Output is deterministic: entries sorted, fixed mtimes and owners unless given, JSON with a
 * fixed key order and a gzip header without time or OS. The same inputs give the same
 * digests (with the same zlib, i.e. the same Node release: deflate output is not specified
 * byte for byte).
 */
import { createHash } from "node:crypto";
import { lstat, open, readdir, readFile, readlink, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { crc32, deflateRaw } from "node:zlib";
import type { Arch } from "../versions.js";

const deflateRawP = promisify(deflateRaw);

/** Media types of the OCI image spec v1. */
export const MEDIA_TYPES = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

/** The annotation containerd names an imported image after (full reference). */
export const ANNOTATION_IMAGE_NAME = "io.containerd.image.name";
/** The OCI reference-name annotation (containerd's exporter writes the tag here). */
export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";

interface EntryBase {
  /** Path inside the image; leading "/" or "./" is dropped. */
  readonly path: string;
  /** Permission bits incl. setuid/setgid/sticky. @default 0o644 files, 0o755 directories, 0o777 symlinks */
  readonly mode?: number;
  /** @default 0 */
  readonly uid?: number;
  /** @default 0 */
  readonly gid?: number;
  /** Extended attributes (PAX SCHILY.xattr records), e.g. security.capability. */
  readonly xattrs?: Readonly<Record<string, Buffer>>;
}
export interface FileEntry extends EntryBase {
  readonly content: Buffer | string;
}
export interface DirectoryEntry extends EntryBase {
  readonly directory: true;
}
export interface SymlinkEntry extends EntryBase {
  /** Link target, as is (relative or absolute). */
  readonly symlink: string;
}
export interface HardlinkEntry extends EntryBase {
  /** Path (inside the image) of an earlier entry this one is a hard link to. */
  readonly hardlink: string;
}
/** One file system object of a layer. Missing parent directories are added (0755, root). */
export type LayerEntry = FileEntry | DirectoryEntry | SymlinkEntry | HardlinkEntry;

/** A content-addressed blob. */
export interface Blob {
  readonly digest: string;
  readonly size: number;
  readonly data: Buffer;
}

/** A gzip'ed layer tar. */
export interface Layer extends Blob {
  /** Digest of the uncompressed tar (the image config's rootfs.diff_ids). */
  readonly diffId: string;
}

/** The runtime part of an image config (OCI image spec "config" object). */
export interface ImageConfig {
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly env?: readonly string[];
  readonly workingDir?: string;
  /** "uid[:gid]" or a name /etc/passwd in the image resolves. */
  readonly user?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface ImageSpec {
  /** Full reference the image is imported as, e.g. registry.k8s.io/pause:3.10.2. */
  readonly name: string;
  readonly arch: Arch;
  /** Lowest layer first. */
  readonly layers: readonly Layer[];
  readonly config: ImageConfig;
  /** RFC 3339 creation time for the config; left out (it is optional) when not given. */
  readonly created?: string;
}

export interface BuiltImage {
  readonly name: string;
  /** Digest of the image manifest: what `ctr images ls` shows as the image's DIGEST. */
  readonly manifestDigest: string;
  readonly configDigest: string;
  /** The tar archive, in chunks (blobs are not copied). */
  readonly chunks: readonly Buffer[];
  readonly size: number;
}

/** ociDigest is the content digest OCI names a blob by: `sha256:` and the hex sum. */
export const ociDigest = (data: Buffer | string): string => `sha256:${createHash("sha256").update(data).digest("hex")}`;

function blob(data: Buffer): Blob {
  return { digest: ociDigest(data), size: data.length, data };
}

function jsonBlob(value: unknown): Blob {
  return blob(Buffer.from(JSON.stringify(value)));
}

// ---------------------------------------------------------------------------------------------
// tar (ustar headers, PAX extended headers for what does not fit)

const BLOCK = 512;
const TYPE = { file: "0", hardlink: "1", symlink: "2", directory: "5", pax: "x" } as const;

/** cleanPath makes an image path relative and canonical ("a/b"); rejects ".." and empty paths. */
export function cleanPath(path: string): string {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0) throw new Error(`layer entry path ${JSON.stringify(path)} names the root`);
  if (parts.includes("..")) throw new Error(`layer entry path ${JSON.stringify(path)} contains ".."`);
  return parts.join("/");
}

/** A PAX record "<len> <key>=<value>\n", where <len> counts the whole record. */
function paxRecord(key: string, value: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from("\n")]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function octal(value: number, width: number): string {
  // width-1 octal digits then NUL, as GNU tar and Go's archive/tar write them.
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

/** fitsField is true when s is ASCII and at most `width` bytes (ustar name/linkname fields). */
const fitsField = (s: string, width: number) => s.length <= width && /^[\x20-\x7e]*$/.test(s);

interface Header {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  type: string;
  linkname?: string;
}

function ustarHeader(h: Header): Buffer {
  const b = Buffer.alloc(BLOCK);
  const put = (s: string, offset: number, width: number) => b.write(s, offset, width, "utf8");
  put(h.name, 0, 100);
  put(octal(h.mode, 8), 100, 8);
  put(octal(h.uid, 8), 108, 8);
  put(octal(h.gid, 8), 116, 8);
  put(octal(h.size, 12), 124, 12);
  put(octal(0, 12), 136, 12); // mtime
  put("        ", 148, 8); // checksum is computed with this field as spaces
  put(h.type, 156, 1);
  put(h.linkname ?? "", 157, 100);
  put("ustar\u000000", 257, 8);
  put(octal(0, 8), 329, 8); // devmajor
  put(octal(0, 8), 337, 8); // devminor
  let sum = 0;
  for (const byte of b) sum += byte;
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  return b;
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/**
 * tarEntry is one tar member: an optional PAX header (long or non-ASCII names, large sizes,
 * xattrs), the ustar header, the content and its padding.
 */
function tarEntry(h: Header, content: Buffer | undefined, xattrs?: Readonly<Record<string, Buffer>>): Buffer[] {
  const records: Buffer[] = [];
  const header = { ...h };
  if (!fitsField(h.name, 100)) {
    records.push(paxRecord("path", h.name));
    header.name = h.name.replace(/[^\x20-\x7e]/g, "_").slice(0, 100);
  }
  if (h.linkname !== undefined && !fitsField(h.linkname, 100)) {
    records.push(paxRecord("linkpath", h.linkname));
    header.linkname = h.linkname.replace(/[^\x20-\x7e]/g, "_").slice(0, 100);
  }
  // Numbers too big for their octal fields (11 and 7 digits).
  if (h.size >= 8 ** 11) {
    records.push(paxRecord("size", String(h.size)));
    header.size = 0;
  }
  for (const k of ["uid", "gid"] as const) {
    if (h[k] >= 8 ** 7) {
      records.push(paxRecord(k, String(h[k])));
      header[k] = 0;
    }
  }
  for (const key of Object.keys(xattrs ?? {}).sort()) {
    records.push(paxRecord(`SCHILY.xattr.${key}`, (xattrs as Record<string, Buffer>)[key] as Buffer));
  }
  const out: Buffer[] = [];
  if (records.length > 0) {
    const pax = Buffer.concat(records);
    out.push(ustarHeader({ name: "PaxHeader", mode: 0o644, uid: 0, gid: 0, size: pax.length, type: TYPE.pax }));
    out.push(pax, padding(pax.length));
  }
  out.push(ustarHeader(header));
  if (content && content.length > 0) out.push(content, padding(content.length));
  return out;
}

/** The end-of-archive marker: two zero blocks. */
const tarEnd = () => Buffer.alloc(2 * BLOCK);

/**
 * layerTar is the uncompressed tar of a layer: entries sorted by path (so parents come first),
 * missing parent directories added, every mtime 0.
 */
export function layerTar(entries: readonly LayerEntry[]): Buffer {
  const byPath = new Map<string, LayerEntry>();
  for (const e of entries) {
    const p = cleanPath(e.path);
    if (byPath.has(p)) throw new Error(`layer has two entries for ${p}`);
    byPath.set(p, e);
  }
  for (const p of [...byPath.keys()]) {
    for (let i = p.indexOf("/"); i !== -1; i = p.indexOf("/", i + 1)) {
      const parent = p.slice(0, i);
      const e = byPath.get(parent);
      if (!e) byPath.set(parent, { path: parent, directory: true });
      else if (!("directory" in e)) throw new Error(`layer entry ${p} is below ${parent}, which is not a directory`);
    }
  }
  // Byte order (not locale order): a path always sorts before the paths below it.
  const paths = [...byPath.keys()].sort(byteOrder);
  const seen = new Set<string>();
  const chunks: Buffer[] = [];
  for (const p of paths) {
    const e = byPath.get(p) as LayerEntry;
    const base = { uid: e.uid ?? 0, gid: e.gid ?? 0 };
    if ("content" in e) {
      const content = typeof e.content === "string" ? Buffer.from(e.content) : e.content;
      const h = { ...base, name: p, mode: e.mode ?? 0o644, size: content.length, type: TYPE.file };
      chunks.push(...tarEntry(h, content, e.xattrs));
    } else if ("directory" in e) {
      const h = { ...base, name: `${p}/`, mode: e.mode ?? 0o755, size: 0, type: TYPE.directory };
      chunks.push(...tarEntry(h, undefined, e.xattrs));
    } else if ("symlink" in e) {
      const h = { ...base, name: p, mode: e.mode ?? 0o777, size: 0, type: TYPE.symlink, linkname: e.symlink };
      chunks.push(...tarEntry(h, undefined, e.xattrs));
    } else {
      const target = cleanPath(e.hardlink);
      if (!seen.has(target)) throw new Error(`hard link ${p} points to ${target}, which is not an earlier entry`);
      const h = { ...base, name: p, mode: e.mode ?? 0o644, size: 0, type: TYPE.hardlink, linkname: target };
      chunks.push(...tarEntry(h, undefined, e.xattrs));
    }
    seen.add(p);
  }
  chunks.push(tarEnd());
  return Buffer.concat(chunks);
}

/**
 * gzip with a fixed header (no mtime, no name, OS "unknown") so the bytes depend on the data
 * only, not on the platform zlib was built for.
 */
export async function gzip(data: Buffer, level = 6): Promise<Buffer> {
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data) >>> 0, 0);
  trailer.writeUInt32LE(data.length % 2 ** 32, 4);
  return Buffer.concat([header, await deflateRawP(data, { level }), trailer]);
}

/** buildLayer makes a gzip'ed layer from in-memory entries. */
export async function buildLayer(entries: readonly LayerEntry[], opts: { level?: number } = {}): Promise<Layer> {
  const tar = layerTar(entries);
  const gz = await gzip(tar, opts.level);
  return { ...blob(gz), diffId: ociDigest(tar) };
}

/**
 * directoryEntries reads a host directory tree as layer entries (modes, owners, symlinks and
 * hard links kept; content read into memory). Paths in `exclude` (relative to dir) are
 * skipped with everything below them. Devices, sockets and FIFOs are refused: a layer root
 * should not have them (strip /dev first). Extended attributes are not read.
 */
export async function directoryEntries(
  dir: string,
  opts: { prefix?: string; exclude?: readonly string[] } = {},
): Promise<LayerEntry[]> {
  const exclude = new Set((opts.exclude ?? []).map(cleanPath));
  const prefix = opts.prefix ? `${cleanPath(opts.prefix)}/` : "";
  const out: LayerEntry[] = [];
  const files: { base: EntryBase; full: string; inode?: string }[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(rel ? join(dir, rel) : dir)) {
      const r = rel ? `${rel}/${name}` : name;
      if (exclude.has(r)) continue;
      const full = join(dir, r);
      const st = await lstat(full);
      const base = { path: prefix + r, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (st.isDirectory()) {
        out.push({ ...base, directory: true });
        await walk(r);
      } else if (st.isSymbolicLink()) {
        out.push({ ...base, symlink: await readlink(full) });
      } else if (st.isFile()) {
        files.push({ base, full, ...(st.nlink > 1 ? { inode: `${st.dev}:${st.ino}` } : {}) });
      } else {
        throw new Error(`${full}: devices, sockets and FIFOs cannot go into a layer`);
      }
    }
  };
  await walk("");
  // The first path of a hard-linked file in tar order (path bytes) carries the content.
  files.sort((a, b) => byteOrder(a.base.path, b.base.path));
  const firstPath = new Map<string, string>();
  for (const f of files) {
    const first = f.inode === undefined ? undefined : firstPath.get(f.inode);
    if (first !== undefined) {
      out.push({ ...f.base, hardlink: first });
      continue;
    }
    if (f.inode !== undefined) firstPath.set(f.inode, f.base.path);
    out.push({ ...f.base, content: await readFile(f.full) });
  }
  return out;
}

/** layerFromDirectory is buildLayer(directoryEntries(dir)). */
export async function layerFromDirectory(
  dir: string,
  opts: { prefix?: string; exclude?: readonly string[]; level?: number } = {},
): Promise<Layer> {
  return buildLayer(await directoryEntries(dir, opts), opts);
}

// ---------------------------------------------------------------------------------------------
// image layout

/** The tag part of a reference ("registry.k8s.io/pause:3.10.2" -> "3.10.2"), or undefined. */
export function referenceTag(name: string): string | undefined {
  const m = /^(?:[^@]*\/)?[^/:@]+:([\w][\w.-]{0,127})$/.exec(name);
  return m?.[1];
}

function imageConfigJson(spec: ImageSpec): unknown {
  const c = spec.config;
  const config: Record<string, unknown> = {};
  if (c.user !== undefined) config.User = c.user;
  if (c.env) config.Env = [...c.env];
  if (c.entrypoint) config.Entrypoint = [...c.entrypoint];
  if (c.cmd) config.Cmd = [...c.cmd];
  if (c.workingDir !== undefined) config.WorkingDir = c.workingDir;
  if (c.labels) config.Labels = Object.fromEntries(Object.entries(c.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    ...(spec.created ? { created: spec.created } : {}),
    architecture: spec.arch,
    os: "linux",
    config,
    rootfs: { type: "layers", diff_ids: spec.layers.map((l) => l.diffId) },
  };
}

const descriptor = (mediaType: string, b: Blob) => ({ mediaType, digest: b.digest, size: b.size });

/**
 * buildImage lays out one image as an OCI image layout tar: `oci-layout`, `index.json` (one
 * manifest, named) and `blobs/sha256/*`.
 */
export function buildImage(spec: ImageSpec): BuiltImage {
  const config = jsonBlob(imageConfigJson(spec));
  const manifest = jsonBlob({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: descriptor(MEDIA_TYPES.config, config),
    layers: spec.layers.map((l) => descriptor(MEDIA_TYPES.layerGzip, l)),
  });
  return layoutArchive(
    spec.name,
    { ...descriptor(MEDIA_TYPES.manifest, manifest), platform: { architecture: spec.arch, os: "linux" } },
    [config, manifest, ...spec.layers],
    config.digest,
  );
}

/**
 * layoutArchive makes the OCI image layout tar for one named manifest: `oci-layout`,
 * `index.json` (the manifest's descriptor with the name annotations) and the blobs. The
 * manifest's own blob must be among `blobs`; its bytes are kept exactly (its digest is the
 * image's identity).
 */
export function layoutArchive(
  name: string,
  manifest: { mediaType: string; digest: string; size: number; platform: { architecture: string; os: string } },
  blobList: readonly Blob[],
  configDigest: string,
): BuiltImage {
  const tag = referenceTag(name);
  if (!tag) throw new Error(`image name ${name} has no tag (want e.g. registry.k8s.io/pause:3.10.2)`);
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    manifests: [{ ...manifest, annotations: { [ANNOTATION_IMAGE_NAME]: name, [ANNOTATION_REF_NAME]: tag } }],
  };
  const blobs = new Map<string, Blob>();
  for (const b of blobList) blobs.set(b.digest, b);
  const files: [string, Buffer][] = [
    ["oci-layout", Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" }))],
    ["index.json", Buffer.from(JSON.stringify(index))],
    ...[...blobs.values()].map((b): [string, Buffer] => [`blobs/sha256/${b.digest.slice("sha256:".length)}`, b.data]),
  ];
  files.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const chunks: Buffer[] = [];
  const dir = (name: string) => ({ name, mode: 0o755, uid: 0, gid: 0, size: 0, type: TYPE.directory });
  chunks.push(...tarEntry(dir("blobs/"), undefined), ...tarEntry(dir("blobs/sha256/"), undefined));
  for (const [name, data] of files) {
    chunks.push(...tarEntry({ name, mode: 0o644, uid: 0, gid: 0, size: data.length, type: TYPE.file }, data));
  }
  chunks.push(tarEnd());
  return {
    name,
    manifestDigest: manifest.digest,
    configDigest,
    chunks,
    size: chunks.reduce((n, c) => n + c.length, 0),
  };
}

/**
 * writeImageArchive writes a built image to `path` (through a temp file renamed into place,
 * so a crash never leaves a truncated archive) and returns the archive's sha256 digest.
 */
export async function writeImageArchive(path: string, image: BuiltImage): Promise<string> {
  const tmp = `${path}.tmp-${process.pid}`;
  const hash = createHash("sha256");
  const fh = await open(tmp, "w", 0o644);
  try {
    for (const c of image.chunks) {
      hash.update(c);
      for (let off = 0; off < c.length; ) off += (await fh.write(c, off)).bytesWritten;
    }
    await fh.close();
    await rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  return `sha256:${hash.digest("hex")}`;
}
