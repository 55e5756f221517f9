// The Linkerd check against a real kube-apiserver + etcd (test/helpers/doctor-api.ts): the
// issuer Secret as Linkerd's chart makes it (applied with kubectl, so its last-applied copy holds
// the key too), with certificates of several ages; and what of it reaches the evidence.
import assert from "node:assert/strict";
import { test } from "node:test";
import { doctor, namespaceWithDefaultAccount, result, startLabApi, text } from "../../../test/helpers/doctor-api.js";
import { generateLinkerdIdentity } from "../../addons/linkerd-identity.js";
import { API_KEYS } from "../api.js";
import type { Finding } from "../types.js";

type Obj = Record<string, unknown>;

test("Linkerd checks: each known failure named from a real API server's objects, and passing once fixed", async (t) => {
  const lab = await startLabApi(t);
  if (!lab) return;
  const { kc, api } = lab;
  await t.test(
    "linkerd.issuer-expiry: only the certificate is read; expired fails, 15 days left warns, fresh passes",
    async () => {
      await namespaceWithDefaultAccount(api, "linkerd");
      const now = new Date();
      const issuer = async (daysAgo: number) => {
        const id = await generateLinkerdIdentity({
          clock: { now: () => new Date(now.getTime() - daysAgo * 86_400_000) },
        });
        return { crt: id.issuerCertPEM, key: id.issuerKeyPEM };
      };
      const b64 = (s: string) => Buffer.from(s).toString("base64");
      const first = await issuer(400);
      // As the chart (scheme linkerd.io/tls) makes it, applied with kubectl: the last-applied
      // annotation carries the key too.
      const secret = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "linkerd-identity-issuer", namespace: "linkerd" },
        data: { "crt.pem": b64(first.crt), "key.pem": b64(first.key) },
      };
      await api.create("/api/v1/namespaces/linkerd/secrets", {
        ...secret,
        metadata: {
          ...secret.metadata,
          annotations: { "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify(secret) },
        },
      });
      await api.create("/api/v1/namespaces/linkerd/secrets", {
        metadata: { name: "not-for-doctor" },
        stringData: { token: "never read" },
      });
      let run = await doctor(kc, { collectedAt: now });
      const secrets = run.api.objects[API_KEYS.secret] ?? [];
      assert.equal(secrets.length, 1);
      assert.deepEqual(Object.keys(secrets[0]?.data as Obj), ["crt.pem"]);
      assert.equal(((secrets[0]?.metadata ?? {}) as Obj).annotations, undefined);
      const dumped = JSON.stringify(run.api);
      assert.ok(!dumped.includes(b64(first.key)) && !dumped.includes("PRIVATE KEY") && !dumped.includes("never read"));
      let r = result(run.results, "linkerd.issuer-expiry");
      assert.equal(r.verdict, "fail");
      assert.match(text(r.findings[0] as Finding), /crt\.pem: notAfter .*\nexpired 35 days before/);
      assert.match(r.findings[0]?.fix ?? "", /kubelab up: it renews an issuer within 30 days/);

      const soon = await issuer(350);
      await api.patch("/api/v1/namespaces/linkerd/secrets/linkerd-identity-issuer", {
        data: { "crt.pem": b64(soon.crt), "key.pem": b64(soon.key) },
      });
      r = result((await doctor(kc, { collectedAt: now })).results, "linkerd.issuer-expiry");
      assert.equal(r.verdict, "warn");
      assert.match(text(r.findings[0] as Finding), /expires in 1[45] days \(within 30\)/);

      const fresh = await issuer(0);
      await api.patch("/api/v1/namespaces/linkerd/secrets/linkerd-identity-issuer", {
        data: { "crt.pem": b64(fresh.crt), "key.pem": b64(fresh.key) },
      });
      run = await doctor(kc, { collectedAt: now });
      r = result(run.results, "linkerd.issuer-expiry");
      assert.equal(r.verdict, "pass", JSON.stringify(r.findings));
      assert.match(text(r.findings[0] as Finding), /\(in 36[45] days\)/);
    },
  );
});
