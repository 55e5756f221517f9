// Real tools the tests use to check rendered files (containerd's own TOML
// loader, openssl, ...). Install them with scripts/dev-tools/install-deps.sh.
import { execFile, execFileSync } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import { cache } from "../../scripts/dev-tools/images-lib.js";
import { PINNED } from "../../src/versions.js";
import { outsideHermetic, unavailable } from "./prereq.js";

const execFileP = promisify(execFile);

/** containerd 2.x version built by scripts/dev-tools/containerd2.sh (keep in sync with its default). */
export const CONTAINERD2_VERSION = "v2.3.4";

/**
 * Kubernetes version whose kubeadm scripts/dev-tools/kubernetes.sh builds for the tests: the
 * version kubelab pins, so kubeadm checks configs rendered for exactly that release.
 */
export const KUBERNETES_VERSION = PINNED.kubernetes.version;

export type ToolName = "containerd1" | "containerd2" | "crane" | "kubeadm" | "kubectl" | "openssl" | "tofu" | "vagrant";

/** crane version built by scripts/dev-tools/crane.sh (keep in sync with its default). */
export const CRANE_VERSION = "v0.22.1";

/** crictl version built by scripts/dev-tools/crictl.sh (keep in sync with its default). */
export const CRICTL_VERSION = "v1.37.0";

/** OpenTofu version whose `tofu` scripts/dev-tools/opentofu.sh builds (keep in sync with its default). */
export const TOFU_VERSION = "v1.12.6";

/** `${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/...parts`: the dev cache the build scripts fill. */
export const cacheDir = cache;

const INSTALLER: Record<ToolName, string> = {
  containerd1: "scripts/dev-tools/install-deps.sh",
  containerd2: `scripts/dev-tools/containerd2.sh ${CONTAINERD2_VERSION} (or install-deps.sh)`,
  kubeadm: `scripts/dev-tools/kubernetes.sh ${KUBERNETES_VERSION} kubeadm (or install-deps.sh)`,
  crane: `scripts/dev-tools/crane.sh ${CRANE_VERSION} (or install-deps.sh)`,
  kubectl: `scripts/dev-tools/kubernetes.sh ${KUBERNETES_VERSION} kubectl (or install-deps.sh)`,
  openssl: "scripts/dev-tools/install-deps.sh",
  vagrant: "scripts/dev-tools/install-deps.sh (Debian's vagrant and vagrant-libvirt)",
  tofu: `scripts/dev-tools/opentofu.sh ${TOFU_VERSION} (or install-deps.sh)`,
};

/** isExecutable is true when `path` is a file this process may execute. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `containerd --version` prints "containerd <package> <version> <revision>"; returns <version>. */
function containerdVersion(bin: string): string | undefined {
  if (!isExecutable(bin)) return undefined;
  try {
    const out = execFileSync(bin, ["--version"], { encoding: "utf8", timeout: 10_000 });
    return out.trim().split(/\s+/)[2];
  } catch {
    return undefined;
  }
}

/** `kubeadm version -o short` prints the bare gitVersion ("v1.37.2"). */
function kubeadmVersion(bin: string): string | undefined {
  if (!isExecutable(bin)) return undefined;
  try {
    return execFileSync(bin, ["version", "-o", "short"], { encoding: "utf8", timeout: 10_000 }).trim();
  } catch {
    return undefined;
  }
}

/** findOnPath looks a program up on $PATH and in the sbin directories (root's tools live there). */
export function findOnPath(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? "").split(delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin"]) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function locate(name: ToolName): string | undefined {
  switch (name) {
    case "containerd1": {
      // Debian 12's containerd 1.6.x: the config `version = 2` layout.
      const bin = "/usr/bin/containerd";
      return /^v?1\./.test(containerdVersion(bin) ?? "") ? bin : undefined;
    }
    case "containerd2": {
      const bin = cacheDir("containerd", CONTAINERD2_VERSION, "bin", "containerd");
      return containerdVersion(bin) === CONTAINERD2_VERSION ? bin : undefined;
    }
    case "kubeadm": {
      const bin = cacheDir("kubernetes", KUBERNETES_VERSION, "bin", "kubeadm");
      return kubeadmVersion(bin) === KUBERNETES_VERSION ? bin : undefined;
    }
    case "kubectl": {
      // "Client Version: v1.37.2" (then Kustomize's version).
      const bin = cacheDir("kubernetes", KUBERNETES_VERSION, "bin", "kubectl");
      if (!isExecutable(bin)) return undefined;
      const out = execFileSync(bin, ["version", "--client"], { encoding: "utf8", timeout: 10_000 });
      return out.includes(`Client Version: ${KUBERNETES_VERSION}\n`) ? bin : undefined;
    }
    case "crane": {
      const bin = cacheDir("crane", CRANE_VERSION, "bin", "crane");
      if (!isExecutable(bin)) return undefined;
      return execFileSync(bin, ["version"], { encoding: "utf8", timeout: 10_000 }).trim() === CRANE_VERSION
        ? bin
        : undefined;
    }
    case "openssl":
      return findOnPath("openssl");
    case "vagrant":
      return findOnPath("vagrant");
    case "tofu": {
      // "OpenTofu v1.12.6" then "on linux_amd64" (a build without the release ldflags says
      // "v1.12.6-dev"). Run from / so that no working directory's lock file is read; a CLI
      // config warning (TF_CLI_CONFIG_FILE naming a missing file) may come first on stdout.
      const bin = cacheDir("opentofu", TOFU_VERSION, "bin", "tofu");
      if (!isExecutable(bin)) return undefined;
      const out = execFileSync(bin, ["version"], { cwd: "/", encoding: "utf8", timeout: 10_000 });
      return out.split("\n").includes(`OpenTofu ${TOFU_VERSION}`) ? bin : undefined;
    }
  }
}

const located = new Map<ToolName, string | undefined>();

/**
 * Absolute path of a real tool (never in the hermetic tier). When it is missing, the test is
 * {@link unavailable}: skipped with the reason, or failed under CI.
 */
export function requireTool(t: Pick<TestContext, "skip">, name: ToolName): string | undefined {
  outsideHermetic(`the real ${name}`);
  if (!located.has(name)) located.set(name, locate(name));
  const path = located.get(name);
  if (path) return path;
  unavailable(t, `${name} not found`, `install it with ${INSTALLER[name]}`);
  return undefined;
}

/**
 * `<bin> --config <configPath> config dump`: containerd's own loader merges the
 * file (and its imports) over the defaults and prints the result. No daemon,
 * no root, no state dirs needed. Rejects on a parse/validation error.
 */
export async function containerdConfigDump(bin: string, configPath: string): Promise<string> {
  // containerd ignores a missing --config file and dumps the defaults: a typo
  // in the path must not pass as a valid config.
  if (!existsSync(configPath)) throw new Error(`containerd config dump: no such file ${configPath}`);
  try {
    const { stdout } = await execFileP(bin, ["--config", configPath, "config", "dump"], {
      encoding: "utf8",
      timeout: 30_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string; code?: number | string };
    throw new Error(
      `${bin} --config ${configPath} config dump failed (exit ${e.code ?? "?"}): ${e.stderr?.trim() || e.message}`,
      { cause: err },
    );
  }
}
