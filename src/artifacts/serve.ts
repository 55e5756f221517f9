/**
 * The host's file server for nodes: release files (and the .deb files of an offline bundle)
 * served over HTTP on the host's own address on the lab network, so each node fetches them
 * itself instead of receiving them through its SSH connection. SSH encryption of ~55 MB per
 * node on both ends, and gunzip on every node, were most of the CPU that node preparation
 * spends; served here, a gzip'ed tarball is decompressed once on the host and nodes unpack
 * a plain tar.
 *
 * Only files offered for this run are served, by the sha256 of what is sent; nodes verify
 * that sum before using a file. The server listens on the lab address only, never on all
 * interfaces, and lives as long as one `up`.
 */
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
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

/** serveArtifacts starts a file server on `address` (a port chosen by the system). */
export async function serveArtifacts(store: ArtifactStore, address: string): Promise<FileServer> {
  const served = new Map<string, Promise<Buffer>>();
  const server = createServer((req, res) => {
    const name = new URL(req.url ?? "/", "http://x").pathname.slice(1);
    const data = req.method === "GET" ? served.get(name) : undefined;
    if (!data) return void res.writeHead(404).end();
    data.then(
      (buf) =>
        res.writeHead(200, { "content-length": buf.length, "content-type": "application/octet-stream" }).end(buf),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, address, resolve));
  const { port } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  const offers = new Map<string, Promise<Offer>>();

  return {
    address,
    offer(file, opts = {}) {
      const key = `${file.sha256}${opts.gunzip ? ".tar" : ""}`;
      let offer = offers.get(key);
      if (!offer) {
        offer = (async () => {
          const raw = await store.get(file);
          const data = opts.gunzip ? await gunzipP(raw) : raw;
          const sum = opts.gunzip ? createHash("sha256").update(data).digest("hex") : file.sha256;
          served.set(sum, Promise.resolve(data));
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
      }),
  };
}
