import { type FileServer, hostHasAddress, serveArtifacts } from "../artifacts/serve.js";
import type { ArtifactStore } from "../artifacts/store.js";

/**
 * labFileServer serves release files to the nodes from this host's address on the lab
 * network (the gateway). Without that address, or when the server cannot start, it returns
 * undefined and the nodes get their files over SSH instead.
 */
export async function labFileServer(
  store: ArtifactStore,
  gateway: string,
  log: (line: string) => void,
): Promise<FileServer | undefined> {
  if (!hostHasAddress(gateway)) return undefined;
  return serveArtifacts(store, gateway).catch((e: Error) => {
    log(`cannot serve files on ${gateway} (${e.message}); nodes get them over SSH`);
    return undefined;
  });
}
