/**
 * Host helpers every provider uses: finding tools on this host, and the environment to run
 * them with (a non-login root shell may have no sbin directories on PATH).
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** hostEnv is our environment with the sbin directories on PATH . */
export function hostEnv(): NodeJS.ProcessEnv {
  const path = (process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(delimiter).filter(Boolean);
  for (const d of ["/usr/local/sbin", "/usr/sbin", "/sbin"]) if (!path.includes(d)) path.push(d);
  return { ...process.env, PATH: path.join(delimiter) };
}

/** which finds an executable on PATH (plus the sbin directories, which a non-login root shell may lack). */
export function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {}
  }
  return undefined;
}
