import { writeFile } from "node:fs/promises";
import { DEFAULT_CLUSTER_YAML } from "../../config/default-cluster.js";
import { UserError } from "../../errors.js";
import type { Io } from "../io.js";

export interface InitOptions {
  file: string;
  force?: boolean;
}

/** init writes the commented default cluster file; it never overwrites without --force. */
export async function init(opts: InitOptions, io: Io): Promise<void> {
  await writeFile(opts.file, DEFAULT_CLUSTER_YAML, { flag: opts.force ? "w" : "wx" }).catch(
    (e: NodeJS.ErrnoException) => {
      if (e.code === "EEXIST")
        throw new UserError(`${opts.file} already exists`, { hint: "use --force to overwrite it" });
      throw e;
    },
  );
  io.out(`wrote ${opts.file}; next: kubelab plan -f ${opts.file}`);
}
