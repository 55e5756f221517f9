/**
 * Talking to the cluster's API from the host (@kubernetes/client-node), with the cluster's
 * kubeconfig. Waits poll real conditions and, when they give up, say what is still missing.
 */

import { type RequestOptions, request } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import { CoreV1Api, KubeConfig, type V1Node } from "@kubernetes/client-node";
import { isTransient, UserError, WaitTimeout } from "../errors.js";

/** kubeConfig loads a kubeconfig document (its current context). */
export function kubeConfig(yaml: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(yaml);
  return kc;
}

export { WaitTimeout };

/** Options of a wait. */
export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * poll calls `probe` until it returns a value; `pending` says, at the deadline, what the
 * last probe was still waiting for (the message of the WaitTimeout).
 */
export async function poll<T>(
  what: string,
  probe: () => Promise<{ done: true; value: T } | { done: false; pending: string }>,
  opts: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
  for (;;) {
    opts.signal?.throwIfAborted();
    // An API server that restarts mid-wait is a reason to wait, not to fail.
    const r = await probe().catch((e: unknown) => {
      if (!isTransient(e)) throw e;
      return { done: false as const, pending: `the API server did not answer (${(e as Error).message})` };
    });
    if (r.done) return r.value;
    if (Date.now() >= deadline)
      throw new WaitTimeout(`${what}: gave up after ${Math.round((opts.timeoutMs ?? 300_000) / 1000)} s: ${r.pending}`);
    await sleep(opts.intervalMs ?? 1_000, undefined, { signal: opts.signal });
  }
}

/** waitApiReady waits until the API server answers /readyz with ok. */
export function waitApiReady(kc: KubeConfig, opts: WaitOptions = {}): Promise<void> {
  const server = kc.getCurrentCluster()?.server ?? "the API server";
  return poll(
    `API server ${server}`,
    async () => {
      try {
        const res = await fetchRaw(kc, "/readyz");
        return res.status === 200
          ? { done: true, value: undefined }
          : { done: false, pending: `/readyz said ${res.status}: ${res.body.trim()}` };
      } catch (e) {
        return { done: false, pending: `not reachable (${(e as Error).message})` };
      }
    },
    opts,
  );
}

/** fetchRaw GETs an API path with the kubeconfig's credentials. */
export function fetchRaw(kc: KubeConfig, path: string): Promise<{ status: number; body: string }> {
  return requestRaw(kc, "GET", path);
}

/**
 * requestRaw sends one request to the API server with the kubeconfig's credentials, the body
 * as given (no client-side model in between: every field reaches the server as written).
 */
export async function requestRaw(
  kc: KubeConfig,
  method: string,
  path: string,
  body?: { contentType: string; data: string },
): Promise<{ status: number; body: string }> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error("the kubeconfig has no current cluster");
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const headers: Record<string, string | number> = {
    ...(opts.headers as Record<string, string>),
    accept: "application/json",
  };
  if (body) {
    headers["content-type"] = body.contentType;
    headers["content-length"] = Buffer.byteLength(body.data);
  }
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server), { ...opts, method, headers, timeout: 30_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => {
        text += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out after 30 s")));
    req.on("error", reject);
    req.end(body?.data);
  });
}

/** Responses worth asking again for: the server is overloaded or starting, or a webhook is not up yet. */
const retryStatus = (res: { status: number; body: string }) =>
  res.status === 429 ||
  res.status === 503 ||
  res.status === 504 ||
  (res.status === 500 && /failed calling webhook/.test(res.body));

/**
 * requestApi is {@link requestRaw} that rides out an API server restart: a refused or reset
 * connection, 429/503/504, a webhook that does not answer yet, or a 401/403 while /readyz
 * says the server is still starting is asked again (backing off to 5 s) for up to `retryMs`; then the error says the API server did not answer, and how to
 * go on. Server-side apply and reads are safe to send twice.
 */
export async function requestApi(
  kc: KubeConfig,
  method: string,
  path: string,
  body?: { contentType: string; data: string },
  opts: { retryMs?: number; signal?: AbortSignal } = {},
): Promise<{ status: number; body: string }> {
  const retryMs = opts.retryMs ?? 120_000;
  const deadline = Date.now() + retryMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
    opts.signal?.throwIfAborted();
    let res: { status: number; body: string };
    try {
      res = await requestRaw(kc, method, path, body);
    } catch (e) {
      if (!isTransient(e)) throw e;
      if (Date.now() >= deadline) {
        const server = kc.getCurrentCluster()?.server ?? "the API server";
        throw new UserError(
          `the API server ${server} did not answer for ${Math.round(retryMs / 1000)} s: ${(e as Error).message}`,
          {
            cause: e,
            exitCode: 1,
            hint: "is the control plane running? kubelab doctor names the usual causes; the next kubelab up continues from here",
          },
        );
      }
      await sleep(delay, undefined, { signal: opts.signal });
      continue;
    }
    if (Date.now() >= deadline) return res;
    // Just restarted, the API server refuses (401/403) until its authorizers have caught up,
    // and says so on /readyz: wait for it then, but not for a refusal it stands by.
    const starting =
      (res.status === 401 || res.status === 403) &&
      (await requestRaw(kc, "GET", "/readyz").then(
        (r) => r.status !== 200,
        () => true,
      ));
    if (!retryStatus(res) && !starting) return res;
    await sleep(delay, undefined, { signal: opts.signal });
  }
}

/** statusMessage is the message of a Status response body (or the body itself, shortened). */
export function statusMessage(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: string };
    if (parsed.message) return `HTTP ${status}: ${parsed.message}`;
  } catch {
    // not JSON
  }
  return `HTTP ${status}${body.trim() ? `: ${body.trim().slice(0, 300)}` : ""}`;
}

/**
 * apiErrorMessage is an API error in one line: the Status message the server sent (the
 * client's own message carries the whole response, headers included).
 */
export function apiErrorMessage(e: unknown): string {
  const err = e as { code?: number; body?: unknown; message?: string };
  if (typeof err.code === "number" && err.body !== undefined) {
    try {
      const status = (typeof err.body === "string" ? JSON.parse(err.body) : err.body) as { message?: string };
      if (status.message) return `HTTP ${err.code}: ${status.message}`;
    } catch {
      // not a Status object
    }
    return `HTTP ${err.code}`;
  }
  return err.message ?? String(e);
}

/** listNodes lists the cluster's Node objects. */
export async function listNodes(kc: KubeConfig): Promise<V1Node[]> {
  return (await kc.makeApiClient(CoreV1Api).listNode()).items;
}

/** nodeReady is the Ready condition's status of a Node ("True", "False", "Unknown"). */
export function nodeReady(node: V1Node): string {
  return node.status?.conditions?.find((c) => c.type === "Ready")?.status ?? "Unknown";
}

/**
 * waitNodes waits until every named node is registered (and Ready, with `ready`); at the
 * deadline the WaitTimeout names the nodes still missing.
 */
export function waitNodes(
  kc: KubeConfig,
  names: readonly string[],
  opts: WaitOptions & { ready?: boolean } = {},
): Promise<V1Node[]> {
  return poll(
    `nodes ${opts.ready ? "Ready" : "registered"}`,
    async () => {
      let nodes: V1Node[];
      try {
        nodes = await listNodes(kc);
      } catch (e) {
        return { done: false, pending: `cannot list nodes (${apiErrorMessage(e)})` };
      }
      const byName = new Map(nodes.map((n) => [n.metadata?.name, n]));
      const missing = names.filter((n) => !byName.has(n));
      const notReady = opts.ready
        ? names.filter((n) => byName.has(n) && nodeReady(byName.get(n) as V1Node) !== "True")
        : [];
      if (missing.length === 0 && notReady.length === 0) return { done: true, value: nodes };
      const parts = [
        missing.length > 0 && `not registered: ${missing.join(", ")}`,
        notReady.length > 0 && `not Ready: ${notReady.join(", ")}`,
      ].filter(Boolean);
      return { done: false, pending: parts.join("; ") };
    },
    opts,
  );
}
