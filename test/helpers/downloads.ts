// Helpers for tests of kubelab's download cache: what the cache holds, the URL a fetch was
// asked for, and a loopback server that cuts a download short.
import { readdir } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestContext } from "node:test";

/** cacheEntries lists every file and directory under `dir` (relative, sorted); [] when there is no `dir`. */
export async function cacheEntries(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return [];
    throw e;
  });
  return entries.map(String).sort();
}

/** urlOf is the URL a fetch call asks for, whichever form it was given in. */
export const urlOf = (input: Parameters<typeof fetch>[0]) =>
  typeof input === "string" ? input : input instanceof URL ? input.href : input.url;

/**
 * cutMidDownload starts a loopback server that promises a large body, sends 1 KiB of it and cuts
 * the connection; it returns the server's URL and is closed when the test ends.
 */
export async function cutMidDownload(t: TestContext): Promise<string> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-length": String(1 << 20) });
    res.write(Buffer.alloc(1024, "x"), () => res.destroy());
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}
