/**
 * The host's file server for nodes: release files (and the .deb files of an offline bundle)
 * served over HTTP on the host's own address on the lab network, so each node fetches them
 * itself instead of receiving them through its SSH connection. SSH encryption of ~55 MB per
 * node on both ends, and gunzip on every node, were most of the CPU that node preparation
 * spends; served here, a gzip'ed tarball is decompressed once on the host and nodes unpack
 * a plain tar.
 *
 * Only files offered for this run are served, by the sha256 of what is sent; nodes verify
 * that sum before using a file. Where the store keeps its files on disk (the download cache,
 * a bundle), they stream from there (a decompressed tarball from a file of its own, made once
 * per run): a lab's images and packages are never held in memory whole. The server listens on the lab address only, never on all
 * interfaces, and lives as long as one `up`.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { createGunzip, gunzip } from "node:zlib";
import { removeOnExit } from "../plan/remove-on-exit.js";
import type { PinnedFile } from "../versions.js";
import type { ArtifactStore } from "./store.js";

const gunzipP = promisify(gunzip);

/** What a node fetches: the URL and the sha256 of the bytes served there. */
export interface Offer {
  readonly url: string;
  readonly sha256: string;
}

/** A running file server. */
export interface FileServer {
  /** The address nodes reach the server on. */
  readonly address: string;
  /**
   * offer makes a pinned file available (verified through the store first). With
   * `gunzip`, a gzip'ed file is served decompressed (a plain tar for `tar -x`).
   */
  offer(file: PinnedFile, opts?: { gunzip?: boolean }): Promise<Offer>;
  close(): Promise<void>;
}

/** hostHasAddress tells whether one of this host's interfaces holds an IPv4 address. */
export function hostHasAddress(address: string): boolean {
  return Object.values(networkInterfaces()).some((list) =>
    (list ?? []).some((a) => a.family === "IPv4" && a.address === address),
  );
}

/** What the server sends under one name: bytes in memory, or a file streamed from the disk. */
type Served = { readonly data: Buffer } | { readonly path: string; readonly size: number };

/** serveArtifacts starts a file server on `address` (a port chosen by the system). */
export async function serveArtifacts(store: ArtifactStore, address: string): Promise<FileServer> {
  const served = new Map<string, Promise<Served>>();
  const server = createServer((req, res) => {
    const name = new URL(req.url ?? "/", "http://x").pathname.slice(1);
    const entry = req.method === "GET" ? served.get(name) : undefined;
    if (!entry) return void res.writeHead(404).end();
    entry.then(
      (e) => {
        const head = {
          "content-length": "data" in e ? e.data.length : e.size,
          "content-type": "application/octet-stream",
        };
        if ("data" in e) return void res.writeHead(200, head).end(e.data);
        res.writeHead(200, head);
        // A node that goes away mid-file ends the response; the file stream goes with it.
        pipeline(createReadStream(e.path), res).catch(() => res.destroy());
      },
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, address, resolve));
  const { port } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  const offers = new Map<string, Promise<Offer>>();
  // Decompressed files of this server's life, where the store keeps files on disk.
  let scratch: Promise<string> | undefined;
  let forget = () => {};
  const scratchDir = () => {
    // Removed on close, and by the exit backstop when the process ends first (a Ctrl-C).
    scratch ??= mkdtemp(join(tmpdir(), "kubelab-serve-")).then((dir) => {
      forget = removeOnExit(dir);
      return dir;
    });
    return scratch;
  };

  /** prepare makes one offered file ready: its name (the sha256 of what is sent) and how it is sent. */
  async function prepare(file: PinnedFile, gunzipIt: boolean): Promise<{ sum: string; entry: Served }> {
    if (!store.path) {
      const raw = await store.get(file);
      const data = gunzipIt ? await gunzipP(raw) : raw;
      const sum = gunzipIt ? createHash("sha256").update(data).digest("hex") : file.sha256;
      return { sum, entry: { data } };
    }
    const source = await store.path(file);
    if (!gunzipIt) return { sum: file.sha256, entry: { path: source, size: (await stat(source)).size } };
    // Decompressed once, into a file, hashed on the way: never whole in memory.
    const path = join(await scratchDir(), `${file.sha256}.tar`);
    const hash = createHash("sha256");
    const tee = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(createReadStream(source), createGunzip(), tee, createWriteStream(path));
    return { sum: hash.digest("hex"), entry: { path, size: (await stat(path)).size } };
  }

  return {
    address,
    offer(file, opts = {}) {
      const key = `${file.sha256}${opts.gunzip ? ".tar" : ""}`;
      let offer = offers.get(key);
      if (!offer) {
        offer = (async () => {
          const { sum, entry } = await prepare(file, opts.gunzip === true);
          served.set(sum, Promise.resolve(entry));
          return { url: `http://${host}:${port}/${sum}`, sha256: sum };
        })();
        offers.set(key, offer);
        offer.catch(() => offers.delete(key));
      }
      return offer;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets of nodes that are gone never close by themselves.
        server.closeAllConnections();
      }).then(async () => {
        if (scratch) await rm(await scratch, { recursive: true, force: true });
        forget();
      }),
  };
}
