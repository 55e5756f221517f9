import { writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { clusterTemplate, type TemplateProvider } from "../../config/default-cluster.js";
import { UserError } from "../../errors.js";
import { type Io, note } from "../io.js";

export interface InitOptions {
  file: string;
  force?: boolean;
  /** The provider the written lab uses. @default "vagrant" */
  provider?: TemplateProvider;
}

/** init writes the commented default cluster file for a provider; it never overwrites without --force. */
export async function init(opts: InitOptions, io: Io): Promise<void> {
  const provider = opts.provider ?? "vagrant";
  await writeFile(opts.file, clusterTemplate(provider), { flag: opts.force ? "w" : "wx" }).catch(
    (e: NodeJS.ErrnoException) => {
      if (e.code === "EEXIST")
        throw new UserError(`${opts.file} already exists`, { hint: "use --force to overwrite it" });
      if (e.code === "ENOENT")
        throw new UserError(`cannot write ${opts.file}: the folder ${dirname(opts.file)} does not exist`, {
          hint: `create it first (mkdir -p ${dirname(opts.file)}), or pass -f with a path in an existing folder`,
        });
      if (e.code === "EISDIR")
        throw new UserError(`cannot write ${opts.file}: it is a folder`, {
          hint: `name the file to write: -f ${opts.file}/kubelab.yaml`,
        });
      if (e.code === "EACCES" || e.code === "EPERM" || e.code === "EROFS")
        throw new UserError(`cannot write ${opts.file}: ${e.code}`, { hint: "choose a folder you can write to" });
      throw e;
    },
  );
  note(
    io,
    `wrote ${opts.file} (provider ${provider}${provider === "ssh" ? ": put your hosts' addresses in provider.hosts" : ""}); next: kubelab plan -f ${opts.file}`,
  );
}
