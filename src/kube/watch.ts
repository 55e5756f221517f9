/**
 * Following a collection of API objects the way client-go's reflector does, small: list, then
 * watch from the list's resourceVersion; whenever that watch ends (the server closed it, it
 * failed, its resourceVersion expired with 410 Gone, or the periodic safety re-list came due),
 * list again and watch again. The handlers see the whole collection after every list and each
 * change in between. Everything stops, sockets and timers included, when the signal aborts.
 */
import { request } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import { type KubeConfig, type KubernetesObject, Watch } from "@kubernetes/client-node";
import { statusMessage } from "./client.js";

/** A change to one object of the collection. */
export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface ListWatchHandlers {
  /** The whole collection, after each (re-)list. */
  onList(items: KubernetesObject[]): void;
  /** One change, as the watch reports it. */
  onEvent(type: WatchEventType, object: KubernetesObject): void;
}

export interface ListWatchOptions {
  /** Stops listing and watching (listWatch then resolves). */
  readonly signal: AbortSignal;
  /** Re-list at least this often even when the watch looks healthy: it may have stalled silently. */
  readonly resyncMs?: number;
  /** The pause before listing again after a failed list or a watch that closed or failed. */
  readonly retryMs?: number;
  /**
   * What happens, one line each, for tests and debugging: `list <path> at <rv>`,
   * `list <path> failed: <why>`, `watch <path> from <rv>`, `<TYPE> <name>`, `expired: <why>`,
   * `closed`, `error: <why>`, `resync`.
   */
  readonly trace?: (line: string) => void;
  /** Test hook: the first watch starts from this resourceVersion instead of the first list's. */
  readonly firstResourceVersion?: string;
}

/** How one watch ended. */
type End =
  | { readonly how: "expired" | "error"; readonly why: string }
  | { readonly how: "closed" | "resync" | "stopped" };

/**
 * expiredMessage is why a watch's resourceVersion is no longer served (410 Gone), whether the
 * server said so in an ERROR event's Status or as the HTTP status of the watch request; else
 * undefined.
 */
export function expiredMessage(statusOrError: unknown): string | undefined {
  const s = statusOrError as { code?: unknown; statusCode?: unknown; message?: unknown } | null | undefined;
  if (s?.code !== 410 && s?.statusCode !== 410) return undefined;
  return typeof s.message === "string" && s.message ? s.message : "410 Gone";
}

/** listWatch lists and watches the collection at `path` (such as `/apis/apps/v1/namespaces/x/deployments`) until `opts.signal` aborts. */
export async function listWatch(
  kc: KubeConfig,
  path: string,
  handlers: ListWatchHandlers,
  opts: ListWatchOptions,
): Promise<void> {
  const trace = opts.trace ?? (() => {});
  const pause = () => sleep(opts.retryMs ?? 1_000, undefined, { signal: opts.signal }).catch(() => {});
  let first = true;
  while (!opts.signal.aborted) {
    let list: { items: KubernetesObject[]; resourceVersion: string };
    try {
      list = await listCollection(kc, path, opts.signal);
    } catch (e) {
      if (opts.signal.aborted) return;
      trace(`list ${path} failed: ${(e as Error).message}`);
      await pause();
      continue;
    }
    trace(`list ${path} at ${list.resourceVersion}`);
    handlers.onList(list.items);
    const from = first && opts.firstResourceVersion ? opts.firstResourceVersion : list.resourceVersion;
    first = false;
    const end = await watchOnce(kc, path, from, handlers, opts, trace);
    if (end.how === "stopped") return;
    trace(end.how === "expired" || end.how === "error" ? `${end.how}: ${end.why}` : end.how);
    // An expired resourceVersion or a due re-list: list at once. A watch that closed or failed:
    // list after a pause, so that a server that ends every watch at once is not hammered.
    if (end.how === "closed" || end.how === "error") await pause();
  }
}

/** watchOnce watches from `resourceVersion` until the watch ends, the re-list is due or the signal aborts. */
function watchOnce(
  kc: KubeConfig,
  path: string,
  resourceVersion: string,
  handlers: ListWatchHandlers,
  opts: ListWatchOptions,
  trace: (line: string) => void,
): Promise<End> {
  return new Promise<End>((resolve) => {
    let ended = false;
    let controller: AbortController | undefined;
    const finish = (end: End) => {
      if (ended) return;
      ended = true;
      clearTimeout(resync);
      opts.signal.removeEventListener("abort", stop);
      controller?.abort();
      resolve(end);
    };
    const stop = () => finish({ how: "stopped" });
    const resync = setTimeout(() => finish({ how: "resync" }), opts.resyncMs ?? 10_000);
    if (opts.signal.aborted) {
      stop();
      return;
    }
    opts.signal.addEventListener("abort", stop, { once: true });
    trace(`watch ${path} from ${resourceVersion}`);
    new Watch(kc)
      .watch(
        path,
        { resourceVersion, allowWatchBookmarks: true },
        (type: string, object: KubernetesObject) => {
          if (ended) return;
          if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") {
            trace(`${type} ${object?.metadata?.name}`);
            handlers.onEvent(type, object);
          } else if (type === "ERROR") {
            const expired = expiredMessage(object);
            finish(expired ? { how: "expired", why: expired } : { how: "error", why: statusText(object) });
          }
          // BOOKMARK: only moves the resourceVersion on, and every watch here starts from a list.
        },
        (err: unknown) => {
          if (!err) return finish({ how: "closed" });
          const expired = expiredMessage(err);
          finish(
            expired ? { how: "expired", why: expired } : { how: "error", why: (err as Error).message ?? String(err) },
          );
        },
      )
      .then(
        (c) => {
          controller = c;
          // Stopped while connecting: the connection is closed as soon as it exists.
          if (ended) c.abort();
        },
        (e: Error) => finish({ how: "error", why: e.message }),
      );
  });
}

const statusText = (o: unknown) => {
  const s = o as { code?: number; message?: string } | undefined;
  return `${s?.code ?? "?"} ${s?.message ?? JSON.stringify(o)}`;
};

/** listCollection GETs the collection at `path`: its items and the list's resourceVersion. */
async function listCollection(
  kc: KubeConfig,
  path: string,
  signal: AbortSignal,
): Promise<{ items: KubernetesObject[]; resourceVersion: string }> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error("the kubeconfig has no current cluster");
  const https: Parameters<typeof request>[1] = {};
  await kc.applyToHTTPSOptions(https);
  const headers = { ...(https.headers as Record<string, string>), accept: "application/json" };
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(new URL(path, server), { ...https, headers, signal, timeout: 30_000 }, (r) => {
      let body = "";
      r.setEncoding("utf8");
      r.on("data", (d) => {
        body += d;
      });
      r.on("end", () => resolve({ status: r.statusCode ?? 0, body }));
      r.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timed out after 30 s")));
    req.on("error", reject);
    req.end();
  });
  if (res.status !== 200) throw new Error(statusMessage(res.status, res.body));
  const list = JSON.parse(res.body) as { items?: KubernetesObject[]; metadata?: { resourceVersion?: string } };
  return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? "" };
}
