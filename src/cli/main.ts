/**
 * The kubelab command line: argv to library calls, and the one place that turns errors
 * into exit codes (0 ok, 1 failure, 2 invalid input or usage).
 */
import { createRequire } from "node:module";
import { Argument, Command, CommanderError, Option } from "@commander-js/extra-typings";
import { TEMPLATE_PROVIDERS } from "../config/default-cluster.js";
import { CommandError, DiskFullError, isTransient, UserError, WaitTimeout } from "../errors.js";
import { HostsError } from "../remote/hosts.js";
import { nameOption, selectNamedCluster } from "./cluster-option.js";
import { addExamples } from "./examples.js";
import { concurrency, MAX_CONCURRENCY, maxUnavailable, mirror, ttl } from "./flags.js";
import { catchInterrupts, type Interrupt, interruptedLine, stopsOnInterrupt } from "./interrupt.js";
import { type Io, processIo } from "./io.js";
import { outputOption, quietIo, splitShortValues } from "./options.js";
import { runLogOf } from "./run-log-errors.js";

/** kubelab's version: package.json's, the one place it is written (from src/cli or dist/cli alike). */
export const VERSION: string = createRequire(import.meta.url)("../../package.json").version;

/** Exit code a command asked for (kubelab ssh passes the remote command's on). */
let exitCode = 0;

/** buildProgram declares every command; actions lazily import their module. */
export function buildProgram(given: Io = processIo): Command {
  const program = new Command("kubelab")
    .description("One cluster file to a working, production-like, multi-node Kubernetes lab")
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => given.out(s),
      writeErr: (s) => given.err(s),
      // Commander echoes the value it refused: a pasted file must not fill the screen.
      outputError: (s, write) => write(cutLines(s)),
    });
  // Commands write through it: --quiet is known once argv is parsed.
  const io = quietIo(program, given);

  const fileOption = () =>
    new Option(
      "-f, --file <file>",
      "cluster file, - for stdin (default: ./kubelab.yaml, ./kubelab.config.ts, or the embedded default); a .ts file is run as code (only ever a file named .ts), YAML never is",
    );

  program
    .command("plan")
    .description("show the derived plan: nodes, addresses, network map, versions, warnings")
    .addOption(fileOption())
    .addOption(nameOption())
    .addOption(outputOption())
    .action(async (opts) => (await import("./commands/plan.js")).plan(opts, io));

  program
    .command("validate")
    .description("check a cluster file; every problem is reported with file:line:col and the fix")
    .addOption(fileOption())
    .addOption(nameOption())
    .addOption(outputOption())
    .action(async (opts) => (await import("./commands/validate.js")).validate(opts, io));

  program
    .command("init")
    .description("write a commented kubelab.yaml: the embedded default lab, for the provider chosen")
    .option("-f, --file <file>", "file to write", "kubelab.yaml")
    .addOption(
      new Option("--provider <name>", "where the nodes run").choices(TEMPLATE_PROVIDERS).default("vagrant" as const),
    )
    .option("--force", "overwrite an existing file")
    .action(async (opts) => (await import("./commands/init.js")).init(opts, io));

  program
    .command("render")
    .description("write every file kubelab would put on each node, and every object it owns in the cluster")
    .addOption(fileOption())
    .addOption(nameOption())
    .option("--out <dir>", "output directory (one folder per node, plus cluster/)")
    .option(
      "--upstream <dir>",
      "directory of pinned upstream manifests (<project>/<tag>/<path>), to include transformed ones",
    )
    .option("--terraform <dir>", "write an OpenTofu/Terraform root module for the cluster (main.tf.json) instead")
    .action(async (opts) => {
      const mod = await import("./commands/render.js");
      if (opts.terraform) return mod.renderTerraform({ ...opts, dir: opts.terraform }, io);
      if (!opts.out) throw new UserError("render needs --out DIR (or --terraform DIR)");
      return mod.render({ ...opts, out: opts.out }, io);
    });

  program
    .command("up")
    .description(
      "create the machines, prepare every node, kubeadm init and join, and merge the kubeconfig (context kubelab-<name>)",
    )
    .addOption(fileOption())
    .addOption(nameOption())
    .option("--dry-run", "only print, per node, what would change")
    .option("--bundle <path>", "install from an offline bundle only (a directory or a .tar; no downloads)")
    .option("--concurrency <n>", `nodes worked on at once (1 to ${MAX_CONCURRENCY})`, concurrency, 8)
    .option("--accept-new-host-keys", "accept a changed SSH host key of an existing host instead of refusing")
    .option("--force-conflicts", "take back addon fields changed outside kubelab (kubectl edit, set env)")
    .option("--prune", "remove nodes taken out of the file, without asking")
    .option("--max-unavailable <n>", "workers an upgrade drains at once", maxUnavailable, 1)
    .option("--no-kubeconfig", "do not merge the context into ~/.kube/config (the cluster directory still gets a copy)")
    .option("-v, --verbose", "print every change as it is made")
    .addOption(outputOption())
    .option("--detailed-exitcode", "with --dry-run: exit 0 for no changes, 2 for changes, 1 for an error")
    .action(async (opts) => {
      exitCode = await (await import("./commands/up.js")).up(opts, io);
    });

  const bundle = program
    .command("bundle")
    .description("offline bundles: everything `up` installs, for machines without internet");
  bundle
    .command("create")
    .description(
      "download (and verify) kubeadm/kubelet/kubectl, containerd, runc, CNI plugins, every image and addon manifest",
    )
    .addOption(fileOption())
    .addOption(nameOption())
    .requiredOption("--out <path>", "the bundle to create: a directory, or one file when the name ends in .tar")
    .addOption(
      new Option("--arch <arch>", "node architecture").choices(["amd64", "arm64"] as const).default("amd64" as const),
    )
    .option(
      "--mirror <from=to...>",
      "download from a mirror: a URL prefix (https://pkgs.k8s.io=https://mirror/k8s) or a registry host (registry.k8s.io=https://registry.local)",
      mirror,
    )
    .action(async (opts) => (await import("./commands/bundle.js")).bundleCreate(opts, io));

  const image = program.command("image").description("node images: boxes with everything a node needs, made once");
  image
    .command("bake")
    .description(
      "make a Vagrant box or an nspawn node image with node preparation done and every image in; up then uses it",
    )
    .addOption(fileOption())
    .addOption(nameOption())
    .option("--bundle <path>", "take packages and images from an offline bundle (no downloads)")
    .option(
      "--mirror <registry=url...>",
      "pull a registry's images from a mirror (registry.k8s.io=https://registry.local)",
      mirror,
    )
    .action(async (opts) => (await import("./commands/image.js")).imageBake(opts, io));

  program
    .command("ui")
    .description("print the web UI's address and a fresh login token (TokenRequest, short-lived)")
    .addOption(fileOption())
    .addOption(nameOption())
    .option("--ttl <duration>", "token lifetime, e.g. 30m, 2h", ttl, "1h")
    .option("--open", "also open the address in the desktop's browser (xdg-open, or open on macOS)")
    .addOption(outputOption())
    .action(async (opts) => (await import("./commands/ui.js")).ui(opts, io));

  program
    .command("kubeconfig")
    .description("merge the cluster's kubeconfig into ~/.kube/config (or $KUBECONFIG) as context kubelab-<name>")
    .addOption(fileOption())
    .addOption(nameOption())
    .option("--merge", "merge into the kubeconfig file (the default)")
    .option("--print", "print the kubeconfig instead (it holds admin credentials)")
    .action(async (opts) => (await import("./commands/kubeconfig.js")).kubeconfig(opts, io));

  program
    .command("down")
    .description(
      "remove the cluster: the machines kubelab made, or on existing hosts (ssh provider) kubeadm reset; and its kubeconfig context",
    )
    .addOption(fileOption())
    .addOption(nameOption())
    .option("--force", "do not ask for confirmation (needed without a terminal)")
    .option("--keep-files", "keep the cluster directory's SSH key and kubeconfig (removed by default)")
    .action(async (opts) => (await import("./commands/down.js")).down(opts, io));

  program
    .command("stop")
    .description(
      "stop the cluster's machines, workers first, and keep them (ssh provider: stop kubelet, the pods and containerd; the hosts stay)",
    )
    .addOption(fileOption())
    .addOption(nameOption())
    .addOption(outputOption())
    .action(async (opts) => (await import("./commands/stop-start.js")).stop(opts, io));

  program
    .command("start")
    .description(
      "start the stopped machines, control planes first (after a host reboot too), and wait until the API, every node and every workload is Ready",
    )
    .addOption(fileOption())
    .addOption(nameOption())
    .addOption(outputOption())
    .action(async (opts) => (await import("./commands/stop-start.js")).start(opts, io));

  const etcd = program.command("etcd").description("etcd snapshots of the cluster: backup and restore");
  etcd
    .command("backup")
    .description("save an etcd snapshot taken on the first control plane to a file on this host (mode 0600)")
    .addOption(fileOption())
    .addOption(nameOption())
    .requiredOption("--out <file>", "the snapshot file to write (replaced when it exists)")
    .addOption(outputOption())
    .action(async (opts) => (await import("./commands/etcd.js")).etcdBackup(opts, io));
  etcd
    .command("restore")
    .description("replace the cluster's whole state with a snapshot (one control plane only); the static pods restart")
    .argument("<snapshot>", "a file kubelab etcd backup wrote")
    .addOption(fileOption())
    .addOption(nameOption())
    .option("--force", "do not ask for confirmation (needed without a terminal)")
    .addOption(outputOption())
    .action(async (snapshot, opts) => (await import("./commands/etcd.js")).etcdRestore(snapshot, opts, io));

  const snapshot = program
    .command("snapshot")
    .description("whole-lab snapshots: every node's disk, etcd and kubelab's files at one point (nspawn, vagrant)");
  snapshot
    .command("save")
    .description("take a snapshot of the whole lab: stopped for the copy, started again when it was running")
    .argument("<name>", "snapshot name (lower case letters, digits, -)")
    .addOption(fileOption())
    .addOption(nameOption())
    .option("--force", "replace a snapshot of that name")
    .addOption(outputOption())
    .action(async (name, opts) => (await import("./commands/snapshot.js")).snapshotSave(name, opts, io));
  snapshot
    .command("restore")
    .description("return the lab to a snapshot: every node's disk replaced, then started and awaited Ready")
    .argument("<name>", "a snapshot kubelab snapshot list shows")
    .addOption(fileOption())
    .addOption(nameOption())
    .option("--force", "do not ask for confirmation (needed without a terminal)")
    .addOption(outputOption())
    .action(async (name, opts) => (await import("./commands/snapshot.js")).snapshotRestore(name, opts, io));
  snapshot
    .command("list")
    .description("list the lab's snapshots, oldest first, with their time and disk use")
    .addOption(fileOption())
    .addOption(nameOption())
    .addOption(outputOption())
    .action(async (opts) => (await import("./commands/snapshot.js")).snapshotList(opts, io));
  snapshot
    .command("delete")
    .description("delete a snapshot: the nodes' copies and kubelab's files")
    .argument("<name>", "a snapshot kubelab snapshot list shows")
    .addOption(fileOption())
    .addOption(nameOption())
    .action(async (name, opts) => (await import("./commands/snapshot.js")).snapshotDelete(name, opts, io));

  program
    .command("status")
    .description("show each node's machine, address and whether it is prepared")
    .addOption(fileOption())
    .addOption(nameOption())
    .addOption(outputOption())
    .action(async (opts) => (await import("./commands/status.js")).status(opts, io));

  program
    .command("ssh")
    .description("open a shell on a node, or run a command there: kubelab ssh NODE [-- CMD...]")
    .argument("<node>", "node name")
    .argument("[command...]", "command to run instead of a shell")
    .addOption(fileOption())
    .addOption(nameOption())
    .option(
      "--strict-host-keys",
      "refuse a host whose key is not in the cluster's known_hosts yet (no trust on first use)",
    )
    .action(async (node, command, opts) => {
      exitCode = await (await import("./commands/ssh.js")).ssh(node, command, opts, io);
    });

  const doctor = program
    .command("doctor")
    .description(
      "check the cluster for the failures labs hit (file, nodes, API, LoadBalancer addresses from this host) and print each fix; exit 1 when a check fails",
    )
    .addOption(fileOption())
    .addOption(nameOption())
    .option("--check <id...>", "run only these checks (--list names them)")
    .option("--from <dir>", "check a saved dump (kubelab doctor dump) instead of the live cluster")
    .option("--list", "list the checks")
    .option("-v, --verbose", "also show what passed and what was skipped")
    .addOption(outputOption())
    .action(async (opts) => {
      exitCode = await (await import("./commands/doctor.js")).doctor(opts, io);
    });
  doctor
    .command("dump")
    .description("save the evidence doctor reads (secrets masked) as DIR/evidence.json, for a bug report or --from")
    .addOption(fileOption())
    .addOption(nameOption())
    .requiredOption("--out <dir>", "directory to write")
    // `-f` after `dump` may be taken by `doctor` itself (commander reads a parent's options anywhere).
    .action(async (opts, cmd) =>
      (await import("./commands/doctor.js")).dump(
        { ...opts, file: opts.file ?? (cmd.parent?.opts().file as string | undefined) },
        io,
      ),
    );

  program
    .command("schema")
    .description("print the JSON Schema of the cluster file, for editors")
    .action(async (opts) => (await import("./commands/schema.js")).schema(opts, io));

  program
    .command("get")
    .description("list what kubelab knows about on this machine: kubelab get clusters")
    .command("clusters")
    .alias("cluster")
    .description(
      "every cluster made on this machine: its file, cluster directory, provider, and its machines' state now",
    )
    .addOption(outputOption())
    .action(async (opts) => (await import("./commands/clusters.js")).getClusters(opts, io));

  program
    .command("list")
    .description("every cluster made on this machine (the same as kubelab get clusters)")
    .addOption(outputOption())
    .action(async (opts) => (await import("./commands/clusters.js")).getClusters(opts, io));

  program
    .command("completion")
    .description("print a shell completion script for kubelab's commands and options")
    .addArgument(new Argument("<shell>", "the shell").choices(["bash", "zsh", "fish"] as const))
    .action(async (shell) => (await import("./commands/completion.js")).completion(shell, program, io));

  program
    .command("version")
    .description("print kubelab's version and commit, Node's version, and every pinned version")
    .addOption(outputOption())
    .action(async (opts) => (await import("./commands/version.js")).version(VERSION, opts, io));

  // --name picks a recorded cluster for every command with -f (cluster-option.ts).
  program.hook("preAction", selectNamedCluster);

  // A command's help fits on a screen after its usage error; the whole program's does not.
  program.showHelpAfterError("(kubelab --help lists the commands)");
  addExamples(program);
  return program;
}

/**
 * cutLines shortens each long line of an error, since it may echo a value of any length back;
 * the middle goes, so the line's end (what the value should be) stays.
 */
function cutLines(text: string, keep = 200): string {
  return text
    .split("\n")
    .map((l) =>
      l.length <= 2 * keep ? l : `${l.slice(0, keep)} … (${l.length - 2 * keep} characters) … ${l.slice(-keep)}`,
    )
    .join("\n");
}

/** run parses argv, runs the command, and returns the exit code. */
export async function run(argv: readonly string[], io: Io = processIo): Promise<number> {
  // The process's own run of a command that stops cleanly answers Ctrl-C; a caller passing
  // its Io passes its signal too.
  const interrupt =
    io === processIo && stopsOnInterrupt(argv) ? catchInterrupts(interruptedLine(argv), io.err) : undefined;
  const given: Io = interrupt ? Object.assign(Object.create(io) as Io, { signal: interrupt.signal }) : io;
  try {
    exitCode = 0;
    const program = buildProgram(given);
    await program.parseAsync(splitShortValues(program, argv), { from: "user" });
    return exitCode;
  } catch (e) {
    const code = given.signal?.aborted ? interrupted(argv, io, interrupt) : report(e, io);
    // A command that kept a run log wrote the error there too, after everything that led to it.
    const log = runLogOf(e);
    if (log) io.err(`  log: ${log}`);
    return code;
  } finally {
    interrupt?.dispose();
  }
}

/** interrupted says the run was cut short (once: a forced exit may have said it) and returns the exit code. */
function interrupted(argv: readonly string[], io: Io, interrupt: Interrupt | undefined): number {
  if (interrupt) return interrupt.end();
  io.err(interruptedLine(argv));
  return 130;
}

/** report prints an error the way its kind asks for and returns the exit code. */
function report(e: unknown, io: Io): number {
  if (e instanceof CommanderError) {
    // --help and --version end here too, with exit code 0.
    return e.exitCode === 0 ? 0 : 2;
  }
  if (e instanceof UserError) {
    io.err(cutLines(`${e.details ? `${e.details}\n` : ""}error: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ""}`));
    return e.exitCode;
  }
  // Something failed on the nodes or in the cluster: the message says where and why.
  if (e instanceof CommandError || e instanceof HostsError || e instanceof WaitTimeout || e instanceof DiskFullError) {
    io.err(`error: ${e.message.trimEnd()}`);
    return 1;
  }
  // A connection refused or reset (the API server restarting, a node going away): not a bug.
  if (isTransient(e)) {
    io.err(
      `error: a connection failed: ${(e as Error).message}\n  hint: is the cluster running? kubelab status and kubelab doctor say more; the next kubelab up continues from here`,
    );
    return 1;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  io.err(
    `error: ${err.message}\n${err.stack ?? ""}\n\nThis looks like a bug in kubelab ${VERSION} (node ${process.version}); please report it with the output above.`,
  );
  return 1;
}
