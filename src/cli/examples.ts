/**
 * Examples at the end of every command's help, kept together so they read as one guide; a
 * command missing here has none, which the CLI's tests catch.
 */
import type { CommandUnknownOpts } from "@commander-js/extra-typings";

/** EXAMPLES by command path ("" is kubelab itself): each one a command line and what it does. */
export const EXAMPLES: Readonly<Record<string, readonly (readonly [string, string])[]>> = {
  "": [
    ["kubelab init && kubelab up", "write kubelab.yaml, then make the lab it describes"],
    ["kubelab plan", "see the nodes and addresses first"],
    ["kubelab status -o json", "the nodes' state, for a script"],
  ],
  plan: [
    ["kubelab plan", "the lab of ./kubelab.yaml (or the built-in one)"],
    ["kubelab plan -f lab.yaml -o json", "the whole plan, warnings included, as JSON"],
    ["generate-lab | kubelab plan -f - -o yaml", "a cluster file read from stdin"],
  ],
  validate: [
    ["kubelab validate -f kubelab.yaml", "exit 0 when valid, 2 with every problem listed"],
    ["kubelab validate -o json", "errors and warnings as data, with line and column"],
  ],
  init: [
    ["kubelab init", "write ./kubelab.yaml"],
    ["kubelab init --provider nspawn", "the same lab as systemd-nspawn containers on this host"],
    ["kubelab init --provider ssh", "the same lab on machines you have (then set provider.hosts)"],
    ["kubelab init -f labs/small.yaml --force", "write (or overwrite) another file"],
  ],
  render: [
    ["kubelab render --out rendered/", "every node's files and the cluster's objects"],
    ["kubelab render --terraform infra/", "an OpenTofu/Terraform root module"],
  ],
  up: [
    ["kubelab up", "make the lab, or bring it back to what the file says"],
    ["kubelab up --dry-run -o json", "the changes it would make, as JSON"],
    ["kubelab up --prune", "also drain and remove the nodes taken out of the file"],
    ["kubelab up --dry-run --detailed-exitcode", "in a script: exit 0 nothing to do, 2 changes, 1 error"],
    ["kubelab up -q --bundle lab-bundle.tar", "offline, printing nothing but errors"],
  ],
  bundle: [["kubelab bundle create --out lab-bundle.tar", "everything up downloads, in one file"]],
  "bundle create": [
    ["kubelab bundle create --out lab-bundle.tar", "a bundle for amd64 nodes"],
    ["kubelab bundle create --out b/ --arch arm64 --mirror registry.k8s.io=https://registry.local", "from a mirror"],
  ],
  image: [["kubelab image bake", "a Vagrant box with the nodes' packages and images"]],
  "image bake": [
    ["kubelab image bake", "bake the box for the cluster file's versions"],
    ["kubelab image bake --bundle lab-bundle.tar", "without downloads"],
  ],
  ui: [
    ["kubelab ui --open", "the UI's address and a token; open it in the browser"],
    ["kubelab ui --ttl 2h -o json", "url, token and expiry for a script"],
  ],
  kubeconfig: [
    ["kubelab kubeconfig", "merge the context kubelab-<name> into ~/.kube/config"],
    ["kubelab kubeconfig --print > admin.conf", "the admin kubeconfig on its own"],
  ],
  down: [
    ["kubelab down", "remove the lab (asks first)"],
    ["kubelab down --force", "without asking, e.g. in a script"],
  ],
  stop: [
    ["kubelab stop", "power the lab's machines off, workers first; disks and addresses stay"],
    ["kubelab stop --name lab -o json", "a recorded lab, from any directory, the machines' state as JSON"],
  ],
  start: [
    ["kubelab start", "boot them again (after a host reboot too) and wait until every node and workload is Ready"],
    ["kubelab start -o json", "the same, the machines' state as JSON"],
  ],
  etcd: [
    ["kubelab etcd backup --out etcd.db", "an etcd snapshot of the lab, mode 0600"],
    ["kubelab etcd restore etcd.db", "put it back (asks first)"],
  ],
  "etcd backup": [
    ["kubelab etcd backup --out backups/lab-etcd.db", "snapshot, check with etcdutl, copy here"],
    ["kubelab etcd backup --name lab --out lab.db -o json", "its revision, key count and sha256 as JSON"],
  ],
  "etcd restore": [
    ["kubelab etcd restore lab.db", "replace the lab's state with the snapshot (asks first)"],
    ["kubelab etcd restore --force lab.db", "without asking, e.g. in a script"],
  ],
  snapshot: [
    ["kubelab snapshot save before-upgrade", "the whole lab as it is now"],
    ["kubelab snapshot restore before-upgrade", "back to it (says what is lost, asks first)"],
  ],
  "snapshot save": [
    ["kubelab snapshot save s1", "stop the lab, copy every node's disk, start it again"],
    ["kubelab snapshot save s1 --force -o json", "replace s1; the manifest and sizes as JSON"],
  ],
  "snapshot restore": [
    ["kubelab snapshot restore s1", "every node back to s1 (asks first), then Ready"],
    ["kubelab snapshot restore s1 --force", "without asking, e.g. in a script"],
  ],
  "snapshot list": [
    ["kubelab snapshot list", "name, time, provider, nodes and disk use of each"],
    ["kubelab snapshot list --name lab -o json", "a recorded lab's snapshots as JSON"],
  ],
  "snapshot delete": [["kubelab snapshot delete s1", "remove s1 and free its disk"]],
  status: [
    ["kubelab status", "each node's machine, address and whether it is prepared"],
    ["kubelab status -o yaml", "the same as data"],
  ],
  ssh: [
    ["kubelab ssh master-1", "a shell on master-1"],
    ["kubelab ssh worker-1 -- journalctl -u kubelet -n 50", "run one command there"],
  ],
  doctor: [
    ["kubelab doctor", "check the lab and print each fix"],
    ["kubelab doctor --list -o json", "the checks, as data"],
    ["kubelab doctor --from dump/ --check metallb.advertisement", "one check on a saved dump"],
  ],
  "doctor dump": [["kubelab doctor dump --out dump/", "save what doctor reads, secrets masked"]],
  schema: [["kubelab schema > kubelab.schema.json", "the JSON Schema, for an editor's YAML support"]],
  get: [["kubelab get clusters", "every cluster made on this machine"]],
  "get clusters": [
    ["kubelab get clusters", "every cluster made on this machine, with its machines' state"],
    ["kubelab get clusters -o json", "the same as data"],
  ],
  list: [
    ["kubelab list", "the same as kubelab get clusters"],
    ["kubelab status --name lab", "then act on one of them from any directory"],
  ],
  completion: [
    ["kubelab completion bash > ~/.local/share/bash-completion/completions/kubelab", "bash, from the next shell"],
    ["kubelab completion zsh > ~/.zfunc/_kubelab", "zsh, with ~/.zfunc in fpath before compinit"],
    ["kubelab completion fish > ~/.config/fish/completions/kubelab.fish", "fish"],
  ],
  version: [
    ["kubelab version", "kubelab's version and commit, Node's, and the pinned versions"],
    ["kubelab version -o json", "the same as data"],
  ],
};

/** Command lines longer than this get their comment below them. */
const LONG = 56;

/** examplesText formats examples as help's last section, commands aligned. */
export function examplesText(examples: readonly (readonly [string, string])[]): string {
  // A long command line gets its comment on the next line rather than pushing the others right.
  const long = (c: string) => c.length > LONG;
  const w = Math.max(
    0,
    ...examples
      .map(([c]) => c)
      .filter((c) => !long(c))
      .map((c) => c.length),
  );
  const lines = examples.map(([c, what]) => (long(c) ? `  ${c}\n      # ${what}` : `  ${c.padEnd(w)}  # ${what}`));
  return `\nExamples:\n${lines.join("\n")}\n`;
}

/** addExamples ends the help of the program and of every command under it with its EXAMPLES. */
export function addExamples(program: CommandUnknownOpts): void {
  const walk = (cmd: CommandUnknownOpts, path: string) => {
    const examples = EXAMPLES[path];
    if (examples) cmd.addHelpText("after", examplesText(examples));
    for (const sub of cmd.commands) walk(sub, path ? `${path} ${sub.name()}` : sub.name());
  };
  walk(program, "");
}
