/**
 * `--name NAME`: pick a cluster recorded in the cluster index instead of naming its file, from
 * any directory. A hook resolves it once for every command into the options the commands
 * already read: `file` (the recorded file) and `cwd` (the directory a built-in lab was made in).
 */
import type { Command } from "@commander-js/extra-typings";
import { Option } from "@commander-js/extra-typings";
import { UserError } from "../errors.js";

/** The options a command that acts on one cluster reads after {@link selectNamedCluster}. */
export interface ClusterChoice {
  /** The cluster file (-f, or the recorded one with --name). */
  file?: string;
  /** Where a cluster without a file lives (set by --name); the process's directory otherwise. */
  cwd?: string;
}

/** A recorded cluster whose file is gone (or names another cluster): `down` can only drop its entry. */
export interface GoneCluster {
  readonly name: string;
  readonly clusterDir: string;
  /** What became of the file. */
  readonly problem: string;
}

/** nameOption is `--name NAME`, which excludes `-f`. */
export const nameOption = () =>
  new Option("--name <name>", "a cluster made on this machine (kubelab get clusters), from any directory").conflicts(
    "file",
  );

/**
 * selectNamedCluster is the preAction hook: when the command (or, for `doctor dump`, its
 * parent) got --name, it sets `file` and `cwd` from the cluster index; `down` of a cluster
 * whose file is gone gets `gone` instead.
 */
export async function selectNamedCluster(_program: unknown, command: Command<unknown[], Record<string, unknown>>) {
  const name = [command, command.parent].map((c) => c?.opts().name).find((n) => typeof n === "string");
  if (typeof name !== "string") return;
  const choice = await resolveClusterName(name, { allowGone: command.name() === "down" });
  if ("gone" in choice) {
    command.setOptionValue("gone", choice.gone);
    return;
  }
  command.setOptionValue("file", choice.file);
  command.setOptionValue("cwd", choice.cwd);
}

/**
 * resolveClusterName finds cluster `name` in the index and checks it is still there: its file
 * exists and still describes a cluster of that name (with `allowGone`, a gone one is returned
 * as such instead of refused).
 */
export async function resolveClusterName(
  name: string,
  opts: { index?: string; allowGone?: boolean } = {},
): Promise<ClusterChoice | { gone: GoneCluster }> {
  const { clusterIndexPath, readClusterIndex } = await import("../plan/cluster-index.js");
  const path = opts.index ?? clusterIndexPath();
  const clusters = await readClusterIndex(path);
  const entry = clusters.find((c) => c.name === name);
  if (!entry) {
    const known = clusters.map((c) => c.name);
    throw new UserError(`no cluster named ${name} on this machine`, {
      details: known.length > 0 ? `known clusters: ${known.join(", ")}` : undefined,
      hint:
        known.length > 0
          ? "use one of those names (kubelab get clusters shows them), or -f FILE"
          : "kubelab up records each cluster it makes; until then, use -f FILE",
    });
  }
  const { loadRecorded } = await import("./recorded-cluster.js");
  const loaded = await loadRecorded(entry);
  // A file with errors is the command's to report, with every problem.
  if (!loaded.ok && loaded.gone) {
    if (opts.allowGone) return { gone: { name, clusterDir: entry.clusterDir, problem: loaded.problem } };
    throw new UserError(`cluster ${name}: ${loaded.problem}`, {
      hint: `put the file back, use -f with the file that describes cluster ${name} now, or drop it from the list: kubelab down --name ${name}`,
    });
  }
  return { file: entry.file, cwd: entry.cwd };
}
