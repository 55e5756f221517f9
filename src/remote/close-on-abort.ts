/**
 * Stopping the commands a run has going on its nodes when the run is aborted (Ctrl-C):
 * closing a connection ends every channel on it at once, and with them the commands' waits.
 * Signals would be kinder, but OpenSSH refuses them for root sessions.
 */
import type { Remote } from "./types.js";

/**
 * closeOnAbort closes every connection of `hosts` when `signal` aborts; the returned
 * function stops watching (call it once the connections are closed anyway).
 */
export function closeOnAbort(hosts: ReadonlyMap<string, Remote>, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  const close = () => {
    for (const h of hosts.values()) void h.close().catch(() => {});
  };
  if (signal.aborted) close();
  else signal.addEventListener("abort", close, { once: true });
  return () => signal.removeEventListener("abort", close);
}
