/**
 * Files that must not outlive the process: a cluster's lock, temp files holding secrets
 * (helm values with a signing key, a kubeconfig half written). Their owners remove them in
 * `finally` blocks; this is the backstop for an exit that skips those blocks (a second
 * Ctrl-C, process.exit), run synchronously from the process's `exit` event.
 */
import { rmSync } from "node:fs";

const paths = new Set<string>();
let hooked = false;

/**
 * removeOnExit removes `path` (a file, or a directory with all in it) should the process
 * exit while it is registered; the returned function unregisters it (the owner removed it
 * itself, or handed it on).
 */
export function removeOnExit(path: string): () => void {
  if (!hooked) {
    hooked = true;
    process.on("exit", removeRegistered);
  }
  paths.add(path);
  return () => void paths.delete(path);
}

/** removeRegistered removes every registered path now; what cannot be removed is left. */
export function removeRegistered(): void {
  for (const path of paths) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // exiting: nobody is left to tell
    }
  }
  paths.clear();
}
