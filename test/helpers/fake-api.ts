/**
 * A loopback HTTPS server standing in for the Kubernetes API in hermetic tests: the test
 * answers each request (method, path and query, body) and gets a KubeConfig for it. Closed
 * when the test ends.
 */
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { TestContext } from "node:test";
import type { KubeConfig } from "@kubernetes/client-node";
import { selfSignedServerCert } from "../../src/addons/linkerd-identity.js";
import { kubeConfig } from "../../src/kube/client.js";

/** One request as the fake API received it. */
export interface ApiRequest {
  readonly method: string;
  readonly url: URL;
  readonly body: string;
  readonly contentType?: string;
}

/** The answer to a request: a status and a JSON body. */
export interface ApiReply {
  readonly status: number;
  readonly body?: unknown;
}

/** fakeApi serves `answer` on 127.0.0.1 and returns a kubeconfig for it, and every request seen. */
export async function fakeApi(
  t: Pick<TestContext, "after">,
  answer: (req: ApiRequest) => ApiReply,
): Promise<{ kc: KubeConfig; requests: ApiRequest[] }> {
  const { certPEM, keyPEM } = await selfSignedServerCert("127.0.0.1");
  const requests: ApiRequest[] = [];
  const server = createServer({ cert: certPEM, key: keyPEM }, (req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      const r: ApiRequest = {
        method: req.method ?? "GET",
        url: new URL(req.url ?? "/", "https://127.0.0.1"),
        body,
        contentType: req.headers["content-type"],
      };
      requests.push(r);
      let reply: ApiReply;
      try {
        reply = answer(r);
      } catch (e) {
        reply = { status: 500, body: { kind: "Status", message: `fake API: ${(e as Error).message}` } };
      }
      res.writeHead(reply.status, { "content-type": "application/json" }).end(JSON.stringify(reply.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const kc = kubeConfig(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:${(server.address() as AddressInfo).port}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`);
  return { kc, requests };
}
