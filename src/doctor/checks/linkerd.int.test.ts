// The Linkerd checks against a real kube-apiserver + etcd (test/helpers/doctor-api.ts): the
// control plane's Deployments and pods, workload pods in a namespace that asks for injection,
// the issuer Secret as Linkerd's chart makes it and kubelab's own Secret (both applied with
// kubectl, so their last-applied copies hold the keys too), the trust-roots ConfigMap; and what
// of the Secrets reaches the evidence.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  doctor,
  finding,
  namespaceWithDefaultAccount,
  result,
  startLabApi,
  text,
} from "../../../test/helpers/doctor-api.js";
import {
  controlPlaneDeployment,
  controlPlanePod,
  controlPlanePodStatus,
  deploymentStatus,
  kubelabSecret,
  linkerdPki,
  type PodState,
  runningStatus,
  trustRoots,
  workloadPod,
} from "../../../test/helpers/linkerd-objects.js";
import { generateLinkerdIdentity } from "../../addons/linkerd-identity.js";
import { API_KEYS } from "../api.js";
import type { Finding } from "../types.js";

const CONTROL_PLANE = ["linkerd-identity", "linkerd-destination", "linkerd-proxy-injector"];
const DEPLOYMENTS = "/apis/apps/v1/namespaces/linkerd/deployments";
const PODS = "/api/v1/namespaces/linkerd/pods";

/** kubectl apply's copy of the object, which holds every data key (private keys too). */
const lastApplied = (o: Record<string, unknown>) => ({
  ...o,
  metadata: {
    ...(o.metadata as Record<string, unknown>),
    annotations: { "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify(o) },
  },
});

type Obj = Record<string, unknown>;

test("Linkerd checks: each known failure named from a real API server's objects, and passing once fixed", async (t) => {
  const lab = await startLabApi(t);
  if (!lab) return;
  const { kc, api } = lab;
  await t.test(
    "linkerd.control-plane: no namespace, no Deployments, identity crash-looping each fail; all available passes",
    async () => {
      const check = async () => result((await doctor(kc)).results, "linkerd.control-plane");
      let r = await check();
      assert.equal(r.verdict, "fail");
      assert.equal(text(finding(r, "Namespace linkerd")), "no Namespace linkerd: Linkerd is not installed");
      assert.match(finding(r, "Namespace linkerd").fix ?? "", /run kubelab up/);

      await namespaceWithDefaultAccount(api, "linkerd");
      r = await check();
      for (const d of CONTROL_PLANE)
        assert.equal(text(finding(r, `Deployment linkerd/${d}`)), `no Deployment linkerd/${d}`);

      // The chart applied; identity crash-loops, so the others' proxies wait for their certificates.
      const states: Record<string, PodState> = {
        "linkerd-identity": "crashloop",
        "linkerd-destination": "proxy-waiting",
        "linkerd-proxy-injector": "proxy-waiting",
      };
      for (const d of CONTROL_PLANE) {
        const pod = `${d}-6f9b8c7d4-x2x7q`;
        await api.create(DEPLOYMENTS, controlPlaneDeployment(d));
        await api.status(`${DEPLOYMENTS}/${d}`, deploymentStatus(1, 0));
        await api.create(PODS, controlPlanePod(d, pod, "worker-1"));
        await api.status(`${PODS}/${pod}`, controlPlanePodStatus(d, states[d] ?? "ready"));
      }
      r = await check();
      assert.equal(r.verdict, "fail");
      const identity = finding(r, "Deployment linkerd/linkerd-identity");
      assert.match(
        text(identity),
        /^Deployment linkerd\/linkerd-identity: 0 of 1 available\nAvailable=False .*MinimumReplicasUnavailable.*\nPod linkerd\/linkerd-identity-6f9b8c7d4-x2x7q on worker-1: phase Running, Ready=False .*\n {2}container identity: ready=false, restartCount 6, waiting: CrashLoopBackOff/,
      );
      assert.equal(
        identity.fix,
        "read why: kubectl -n linkerd logs linkerd-identity-6f9b8c7d4-x2x7q -c identity --previous",
      );
      const injector = finding(r, "Deployment linkerd/linkerd-proxy-injector");
      assert.match(text(injector), /init container linkerd-proxy: ready=false/);
      assert.match(injector.fix ?? "", /^get linkerd-identity available first/);

      // Identity restarted fine, and the others' proxies got their certificates.
      for (const d of CONTROL_PLANE) {
        await api.status(`${PODS}/${d}-6f9b8c7d4-x2x7q`, controlPlanePodStatus(d, "ready"));
        await api.status(`${DEPLOYMENTS}/${d}`, deploymentStatus(1, 1));
      }
      r = await check();
      assert.equal(r.verdict, "pass", JSON.stringify(r.findings));
      assert.deepEqual(
        r.findings.map(text),
        CONTROL_PLANE.map((d) => `Deployment linkerd/${d}: 1 of 1 available`),
      );
    },
  );

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

  await t.test(
    "linkerd.trust-anchor and linkerd.issuer-chain: only certificates read; a foreign anchor and issuer fail, kubelab's pass",
    async () => {
      const { kubelab, foreign } = await linkerdPki();
      const check = async () => {
        const run = await doctor(kc);
        return {
          run,
          anchor: result(run.results, "linkerd.trust-anchor"),
          chain: result(run.results, "linkerd.issuer-chain"),
        };
      };
      // Nothing stored yet: kubelab has no anchor to compare with.
      let { anchor, chain } = await check();
      assert.equal(anchor.verdict, "warn");
      assert.match(
        text(anchor.findings[0] as Finding),
        /^no Secret kube-system\/kubelab-linkerd-identity: kubelab stored no trust anchor/,
      );
      assert.equal(chain.verdict, "warn");

      // kubelab's Secret (keys and all, applied with kubectl); Linkerd installed with another anchor,
      // and the issuer the previous test left, which another anchor signed.
      await api.create("/api/v1/namespaces/kube-system/secrets", lastApplied(kubelabSecret(kubelab)));
      await api.create("/api/v1/namespaces/linkerd/configmaps", lastApplied(trustRoots(foreign.trustAnchor.certPEM)));
      const foreignInstall = await check();
      ({ anchor, chain } = foreignInstall);
      const secrets = foreignInstall.run.api.objects[API_KEYS.secret] ?? [];
      assert.deepEqual(
        secrets.map((s) => [(s.metadata as { name: string }).name, Object.keys(s.data as object)]).sort(),
        [
          ["kubelab-linkerd-identity", ["trust-anchor.crt"]],
          ["linkerd-identity-issuer", ["crt.pem"]],
        ],
      );
      const dumped = JSON.stringify(foreignInstall.run.api);
      for (const key of [kubelab.trustAnchor.keyPEM, kubelab.issuerKeyPEM])
        assert.ok(!dumped.includes(Buffer.from(key).toString("base64")) && !dumped.includes("PRIVATE KEY"));
      assert.equal(anchor.verdict, "fail");
      assert.match(
        text(anchor.findings[0] as Finding),
        /ca-bundle\.crt certificate 1 of 1: CN=root\.linkerd\.cluster\.local, SHA-256 /,
      );
      assert.match(text(anchor.findings[0] as Finding), /kubelab's anchor is not among them/);
      assert.match(anchor.findings[0]?.fix ?? "", /meshed pods keep trusting the old one until restarted/);
      assert.equal(chain.verdict, "fail");
      assert.match(text(chain.findings[0] as Finding), /not signed by kubelab's anchor/);

      // kubelab up applies the stored anchor (next to the old one, while pods restart) and issuer.
      const b64 = (s: string) => Buffer.from(s).toString("base64");
      await api.patch("/api/v1/namespaces/linkerd/configmaps/linkerd-identity-trust-roots", {
        data: { "ca-bundle.crt": `${foreign.trustAnchor.certPEM}${kubelab.trustAnchor.certPEM}` },
      });
      await api.patch("/api/v1/namespaces/linkerd/secrets/linkerd-identity-issuer", {
        data: { "crt.pem": b64(kubelab.issuerCertPEM), "key.pem": b64(kubelab.issuerKeyPEM) },
      });
      ({ anchor, chain } = await check());
      assert.equal(anchor.verdict, "pass", JSON.stringify(anchor.findings));
      assert.match(text(anchor.findings[0] as Finding), /ca-bundle\.crt holds it: certificate 2 of 2/);
      assert.equal(chain.verdict, "pass", JSON.stringify(chain.findings));
      assert.match(text(chain.findings[0] as Finding), /issued by that anchor: the signature verifies/);
    },
  );

  await t.test(
    "linkerd.injection: a pod started before the namespace asked for injection fails; restarted with a proxy it passes",
    async () => {
      const check = async () => result((await doctor(kc)).results, "linkerd.injection");
      const pods = "/api/v1/namespaces/demo/pods";
      const create = async (name: string, proxy: "native sidecar" | "none") => {
        await api.create(pods, workloadPod({ namespace: "demo", name, proxy, deployment: "web" }));
        await api.status(`${pods}/${name}`, runningStatus);
      };
      await create("web-6d4cf56db6-8hx4t", "none");
      let r = await check();
      assert.equal(r.verdict, "pass");
      assert.match(text(r.findings[0] as Finding), /no Namespace is annotated linkerd\.io\/inject: enabled/);

      await api.patch("/api/v1/namespaces/demo", { metadata: { annotations: { "linkerd.io/inject": "enabled" } } });
      await create("web-6d4cf56db6-2kq9z", "native sidecar");
      r = await check();
      assert.equal(r.verdict, "fail");
      const f = finding(r, "Namespace demo");
      assert.equal(
        text(f),
        "annotated linkerd.io/inject: enabled; 2 running pods, 1 without linkerd-proxy:\nPod demo/web-6d4cf56db6-8hx4t has no linkerd-proxy: containers app",
      );
      assert.match(f.fix ?? "", /^restart them \(kubectl -n demo rollout restart deploy\/web\): pods created before/);

      // The rollout replaced the old pod with an injected one.
      await api.remove(`${pods}/web-6d4cf56db6-8hx4t?gracePeriodSeconds=0`);
      await create("web-6d4cf56db6-t7m4c", "native sidecar");
      r = await check();
      assert.equal(r.verdict, "pass", JSON.stringify(r.findings));
      assert.match(
        text(finding(r, "Namespace demo")),
        /2 running pods, each with linkerd-proxy \(2 as a native sidecar\)/,
      );
    },
  );
});
