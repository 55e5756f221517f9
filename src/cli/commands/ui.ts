import { readFile } from "node:fs/promises";
import { uiToken, uiUrl } from "../../addons/ui.js";
import { UserError } from "../../errors.js";
import { kubeConfig } from "../../kube/client.js";
import { clusterDir, clusterPaths } from "../../plan/cluster-dir.js";
import type { ClusterChoice } from "../cluster-option.js";
import { parseTtl } from "../flags.js";
import { type Io, note } from "../io.js";
import { openUrl } from "../open-url.js";
import { formatData, isData, type OutputFormat } from "../output.js";
import { loadPlanOrFail } from "./validated.js";

export interface UiOptions extends ClusterChoice {
  ttl: string;
  open?: boolean;
  output?: OutputFormat;
}

/** ui prints the UI's LoadBalancer address and a fresh token for the UI's login account. */
export async function ui(opts: UiOptions, io: Io): Promise<void> {
  const plan = await loadPlanOrFail(opts.file, io, opts.cwd);
  if (plan.addons.ui.kind === "none")
    throw new UserError("this cluster has no web UI: its file says addons.ui: none", {
      hint: "set addons.ui to headlamp and run kubelab up",
    });
  const ttl = parseTtl(opts.ttl);
  const path = clusterPaths(clusterDir(plan, opts.file, opts.cwd)).kubeconfig;
  const config = await readFile(path, "utf8").catch(() => {
    throw new UserError(`no kubeconfig at ${path}`, { hint: "run kubelab up first" });
  });
  const kc = kubeConfig(config);
  const url = plan.addons.metallb.enabled ? await uiUrl(kc, plan, { timeoutMs: 30_000 }) : undefined;
  // Taken before asking, so the expiry printed is never later than the token's own.
  const expires = new Date(Date.now() + ttl * 1000);
  const token = await uiToken(kc, plan, ttl);
  if (isData(opts.output))
    io.out(formatData(opts.output, { url: url ?? null, token, expires: expires.toISOString(), ttl: opts.ttl }));
  else {
    io.out(url ? `url:   ${url}` : "url:   none (MetalLB is off; use kubectl port-forward to the UI service)");
    io.out(`token: ${token}`);
    note(io, `(valid for ${opts.ttl}, until ${expires.toISOString()}; run kubelab ui again for a new one)`);
  }
  if (opts.open) {
    const opened = url
      ? openUrl(url)
      : "--open: the UI has no address to open without MetalLB; port-forward to it instead";
    // Beside data on stdout, what --open did is a note on stderr.
    if (isData(opts.output)) io.err(opened);
    else io.out(opened);
  }
}
