import { mkdir, writeFile } from "node:fs/promises";
import { stringify } from "yaml";
import { createTestBundle } from "../../test/helpers/bundle.js";
import { kubelab } from "../../test/helpers/cli.js";
import { NO_ADDONS, nspawnTestCluster } from "../../test/helpers/nspawn.js";
const { raw, plan } = nspawnTestCluster("noop", { workers: 2 }, { addons: NO_ADDONS });
const cleanups: (() => unknown)[] = [];
const shim = { after: (f: () => unknown) => void cleanups.push(f), skip: (w?: string) => { throw new Error(String(w)); } };
const dir = "/var/tmp/lab";
await mkdir(dir, { recursive: true });
const file = `${dir}/kubelab.yaml`;
await writeFile(file, stringify(raw));
await createTestBundle(shim, plan, `${dir}/bundle`);
process.env.KUBECONFIG = `${dir}/kubeconfig`;
try {
  for (const what of ["first", "noop", "noop", "doctor"]) {
    const t = performance.now();
    const r = what === "doctor" ? await kubelab("doctor", "-f", file) : await kubelab("up", "-f", file, "--bundle", `${dir}/bundle`);
    console.log(what, r.code, ((performance.now() - t) / 1000).toFixed(2), r.err.split("\n").filter((l) => /log:|error/.test(l)).join(" | "));
  }
} finally {
  if (!process.env.KEEP) await kubelab("down", "-f", file, "--force");
  for (const c of cleanups) await c();
}
