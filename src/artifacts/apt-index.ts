/**
 * The index files of a flat apt repository (pkgs.k8s.io's layout): deb822 paragraphs, the
 * Release file's sha256 list and the Packages index. Read when a bundle is made from the
 * repository and again when `up` checks the copies a bundle carries.
 */

/** One package of a Packages index. */
export interface AptPackage {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  /** Path relative to the repository URL. */
  readonly filename: string;
  readonly sha256: string;
  readonly size: number;
  /** Package names this one depends on (alternatives and version constraints dropped). */
  readonly depends: readonly string[];
}

/** deb822 paragraphs: `Field: value` lines, continuation lines start with a space. */
export function parseDeb822(text: string): Map<string, string>[] {
  return text
    .split(/\n\s*\n/)
    .map((para) => {
      const fields = new Map<string, string>();
      let last = "";
      for (const line of para.split("\n")) {
        if (/^\s/.test(line) && last) fields.set(last, `${fields.get(last)}\n${line.trim()}`);
        else {
          const colon = line.indexOf(":");
          if (colon <= 0) continue;
          last = line.slice(0, colon);
          fields.set(last, line.slice(colon + 1).trim());
        }
      }
      return fields;
    })
    .filter((f) => f.size > 0);
}

/** parsePackages reads a Packages index. */
export function parsePackages(text: string): AptPackage[] {
  return parseDeb822(text).map((f) => ({
    name: f.get("Package") ?? "",
    version: f.get("Version") ?? "",
    architecture: f.get("Architecture") ?? "",
    filename: f.get("Filename") ?? "",
    sha256: f.get("SHA256") ?? "",
    size: Number(f.get("Size") ?? 0),
    depends: (f.get("Depends") ?? "")
      .split(",")
      .map((d) => d.trim().split(/[\s|(]/)[0] ?? "")
      .filter((d) => d !== ""),
  }));
}

/** releaseSums reads a Release file's SHA256 list: path -> { sha256, size }. */
export function releaseSums(text: string): Map<string, { sha256: string; size: number }> {
  const list = parseDeb822(text)[0]?.get("SHA256") ?? "";
  const sums = new Map<string, { sha256: string; size: number }>();
  for (const line of list.split("\n")) {
    const [sum, size, path] = line.trim().split(/\s+/);
    if (sum && size && path) sums.set(path, { sha256: sum, size: Number(size) });
  }
  return sums;
}
