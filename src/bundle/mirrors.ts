// Mirrors for downloads and image pulls, as given on the command line (bundle create, image bake).
import { cut, UserError } from "../errors.js";

/**
 * Mirrors: `FROM=TO` pairs. A FROM with a scheme is a URL prefix (downloads from it go to TO
 * instead); a bare host is an image registry (its images are pulled from the registry at TO,
 * and keep their names).
 */
export function parseMirrors(pairs: readonly string[]): { urls: [string, string][]; registries: Map<string, string> } {
  const urls: [string, string][] = [];
  const registries = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    const [from, to] = [pair.slice(0, eq), pair.slice(eq + 1)];
    if (eq <= 0 || !/^https?:\/\/[^/\s]+/.test(to) || /\s/.test(from))
      throw new UserError(`--mirror ${cut(pair)}: want FROM=TO, TO a URL`, {
        hint: "like https://pkgs.k8s.io=https://mirror/k8s or registry.k8s.io=https://registry.local",
      });
    if (from.includes("://")) urls.push([from, to]);
    else registries.set(from, to);
  }
  return { urls, registries };
}
