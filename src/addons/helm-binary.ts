/**
 * Rendering Helm charts with the pinned helm binary (`helm template`): kubelab applies the
 * objects itself, helm never talks to a cluster. The binary comes from the pinned release
 * tarball (linux-<arch>/helm), verified by sha256 like every release file.
 */
import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { UserError } from "../errors.js";
import { removeOnExit } from "../plan/remove-on-exit.js";
import type { Arch } from "../versions.js";

const execFileP = promisify(execFile);

/** The architecture of this host in release-file terms. */
export function hostArch(): Arch {
  return process.arch === "arm64" ? "arm64" : "amd64";
}

/** A helm binary unpacked from its release tarball into a temp dir; `remove` deletes it. */
export async function unpackHelm(tarball: Buffer): Promise<{ path: string; remove: () => Promise<void> }> {
  if (process.platform !== "linux")
    throw new UserError("rendering charts needs the linux helm build", { hint: "run this on a Linux host" });
  const dir = await mkdtemp(join(tmpdir(), "kubelab-helm-"));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    await writeFile(join(dir, "helm.tar.gz"), tarball);
    const member = `linux-${hostArch()}/helm`;
    await execFileP("tar", ["-C", dir, "-xzf", join(dir, "helm.tar.gz"), member]);
    await chmod(join(dir, member), 0o755);
    return { path: join(dir, member), remove };
  } catch (e) {
    await remove();
    throw e;
  }
}

/** helmTemplate renders a chart archive (or directory) with values given as YAML text. */
export async function helmTemplate(
  helm: string,
  chart: string,
  opts: { release: string; namespace: string; kubeVersion: string; values?: string },
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-values-"));
  // The values may hold a private key (Linkerd's issuer): gone even if the process is cut short.
  const forget = removeOnExit(dir);
  try {
    // --kube-version: charts check it (linkerd: >=1.31), and helm's own default is old.
    const args = ["template", opts.release, chart, "--namespace", opts.namespace, "--kube-version", opts.kubeVersion];
    if (opts.values !== undefined) {
      await writeFile(join(dir, "values.yaml"), opts.values, { mode: 0o600 });
      args.push("--values", join(dir, "values.yaml"));
    }
    const { stdout } = await execFileP(helm, args, { maxBuffer: 64 * 1024 * 1024 }).catch(
      (e: Error & { stderr?: string }) => {
        throw new UserError(`helm template ${opts.release} failed`, { details: e.stderr?.trim(), exitCode: 1 });
      },
    );
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
    forget();
  }
}
