import { readFileSync } from "node:fs";
import { PINNED } from "../../versions.js";
import type { Io } from "../io.js";
import { formatData, isData, type OutputFormat } from "../output.js";

/** What `kubelab version` reports. */
export interface VersionInfo {
  readonly kubelab: string;
  /** The commit kubelab was built from, or "unknown" (run from source, or built outside git). */
  readonly commit: string;
  readonly node: string;
  /** Every pinned version, by what it pins (`containerd 2.x`, `vagrantBox virtualbox`...). */
  readonly pinned: Readonly<Record<string, string>>;
}

/**
 * BUILD_INFO is written next to the compiled code by `npm run build` (scripts/build-info.mjs):
 * the commit is taken once, when the package is built, never from the user's directory.
 */
const BUILD_INFO = new URL("../../build-info.json", import.meta.url);

/** buildCommit reads the commit the package was built from; "unknown" without a build's record. */
export function buildCommit(info: URL = BUILD_INFO): string {
  try {
    const commit = (JSON.parse(readFileSync(info, "utf8")) as { commit?: unknown }).commit;
    return typeof commit === "string" && commit !== "" ? commit : "unknown";
  } catch {
    return "unknown";
  }
}

/** pinnedVersions flattens the pinned table to one version per entry, so a new pin shows without edits here. */
export function pinnedVersions(table: object = PINNED): Record<string, string> {
  const out: Record<string, string> = {};
  const versionOf = (v: unknown): string | undefined => {
    const o = v as { version?: unknown; name?: unknown; minimum?: unknown } | undefined;
    if (typeof o !== "object" || o === null) return undefined;
    if (typeof o.version === "string") return typeof o.name === "string" ? `${o.name} ${o.version}` : o.version;
    return typeof o.minimum === "string" ? `>= ${o.minimum}` : undefined;
  };
  for (const [key, value] of Object.entries(table)) {
    const own = versionOf(value);
    if (own) out[key] = own;
    else if (typeof value === "object" && value !== null) {
      for (const [sub, v] of Object.entries(value)) {
        const version = versionOf(v);
        if (version) out[`${key} ${sub}`] = version;
      }
    }
  }
  return out;
}

/** version prints kubelab's version and commit, Node's, and every pinned version. */
export function version(kubelab: string, opts: { output: OutputFormat }, io: Io): void {
  const info: VersionInfo = { kubelab, commit: buildCommit(), node: process.version, pinned: pinnedVersions() };
  if (isData(opts.output)) {
    io.out(formatData(opts.output, info));
    return;
  }
  const w = Math.max(...Object.keys(info.pinned).map((k) => k.length));
  io.out(
    [
      `kubelab ${info.kubelab} (commit ${info.commit})`,
      `node ${info.node}`,
      "pinned:",
      ...Object.entries(info.pinned).map(([k, v]) => `  ${k.padEnd(w)}  ${v}`),
    ].join("\n"),
  );
}
