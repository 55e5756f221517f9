/**
 * Opening a URL in the desktop's browser, as `kubelab ui --open` does: the platform's opener
 * (`open` on macOS, `xdg-open` elsewhere), found on PATH first, so a machine without a desktop
 * (a server, a container, CI) gets a sentence instead of a silent nothing.
 */
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** The program that opens URLs on `platform`. */
export const openerFor = (platform: NodeJS.Platform): string => (platform === "darwin" ? "open" : "xdg-open");

/** findOnPath is the first executable `name` in the PATH `path`, or undefined. */
export function findOnPath(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? "").split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  return undefined;
}

export interface OpenDeps {
  platform?: NodeJS.Platform;
  path?: string;
  /** Starts the opener, detached: the CLI does not wait for the browser. */
  start?: (program: string, url: string) => void;
}

const startDetached = (program: string, url: string) =>
  void spawn(program, [url], { detached: true, stdio: "ignore" })
    .on("error", () => {})
    .unref();

/**
 * openUrl starts the desktop's opener with `url` and returns the line to print: which program
 * opened it, or that none exists here and the URL must be opened by hand.
 */
export function openUrl(url: string, deps: OpenDeps = {}): string {
  const opener = openerFor(deps.platform ?? process.platform);
  const program = findOnPath(opener, deps.path ?? process.env.PATH);
  if (!program) return `no ${opener} on this machine (no desktop?): open ${url} in a browser yourself`;
  (deps.start ?? startDetached)(program, url);
  return `opening ${url} with ${opener}`;
}
