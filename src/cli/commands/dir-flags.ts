import { stat } from "node:fs/promises";
import { UserError } from "../../errors.js";

/**
 * checkOutDir stops before any work when an output directory flag names something that is
 * not a directory (a file written earlier, a typo'd path): writing into it would fail halfway.
 */
export async function checkOutDir(flag: string, dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory())
    throw new UserError(`${flag} ${dir} is a file, not a directory`, {
      hint: `choose a directory (it is made when missing), or remove ${dir}`,
    });
}

/** checkInDir stops before any work when a flag naming a directory to read names no directory. */
export async function checkInDir(flag: string, dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory())
    throw new UserError(`${flag} ${dir}: ${info ? "not a directory" : "no such directory"}`, {
      hint: `check the path given to ${flag}`,
    });
}
