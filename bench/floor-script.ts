/**
 * "The floor" of node preparation for bench/prepare.ts: the work bench/ansible/prepare.yml
 * does on one node, written out as ONE shell script that the bench runs over one SSH
 * connection per node. No facts, no checks of what is already there (beyond what the work
 * itself needs), no integrity checks of the downloads: what is left is the node's own work
 * (dpkg, tar, curl, systemd) plus one SSH handshake, so the time it takes is the least any
 * tool can take for a first run on the same machines.
 *
 * Pure: the script is built from the plan with kubelab's own renderers (the same bytes
 * kubelab and the playbook write), so the nodes' end states can be compared byte for byte.
 */
import { CONTAINERD_UNIT } from "../src/phases/install-containerd.js";
import { sourcesLine } from "../src/phases/install-kubernetes.js";
import type { Plan } from "../src/plan/types.js";
import type { NodeEnvironment } from "../src/render/node-environment.js";
import { renderHostsBlock, renderModulesLoad, renderNodeFiles, renderSysctl } from "../src/render/node-files.js";

/** Where the node fetches the release files from (the host's file server). */
export interface FloorRelease {
  /** containerd's release tarball, served decompressed (a plain tar of bin/...). */
  readonly containerd: string;
  /** The CNI plugins' tarball, served decompressed (a plain tar of the plugins). */
  readonly cniPlugins: string;
  /** The runc binary. */
  readonly runc: string;
}

/** What {@link floorScript} needs besides the plan. */
export interface FloorOptions {
  /** What kind of machine the node is (containerd's and kubeadm's settings depend on it). */
  readonly env: NodeEnvironment;
  /** The apt repository holding kubeadm, kubelet and kubectl (trusted, as the playbook's). */
  readonly aptUrl: string;
  readonly release: FloorRelease;
}

/** The Kubernetes packages the playbook installs and holds. */
export const FLOOR_PACKAGES = ["kubeadm", "kubelet", "kubectl"] as const;

/** The directories the playbook creates (its "Directories" task). */
const DIRECTORIES = ["/etc/containerd", "/etc/kubernetes/kubeadm", "/var/cache/kubelab", "/opt/cni/bin"];

const UNIT_PATH = "/etc/systemd/system/containerd.service";
const SOURCES_PATH = "/etc/apt/sources.list.d/kubernetes.list";

/** quote makes one shell word of `s` (single quotes; a quote inside as '\''). */
export function quote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** A here-document delimiter that is no line of `text`. */
function delimiter(text: string): string {
  const lines = new Set(text.split("\n"));
  let d = "KUBELAB_EOF";
  for (let i = 1; lines.has(d); i++) d = `KUBELAB_EOF_${i}`;
  return d;
}

/**
 * writeFileCommand is a shell command writing `content` to `path`, byte for byte: a quoted
 * here-document (readable in the script) for text that ends in a newline and holds no NUL
 * or carriage return, base64 otherwise (a here-document always ends in a newline).
 */
export function writeFileCommand(path: string, content: string | Buffer): string {
  const text = typeof content === "string" ? content : undefined;
  if (text?.endsWith("\n") && !/[\0\r]/.test(text)) {
    const d = delimiter(text);
    return `cat >${quote(path)} <<'${d}'\n${text}${d}`;
  }
  const b64 = Buffer.from(content).toString("base64");
  const lines = b64.match(/.{1,76}/g) ?? [];
  return `base64 -d >${quote(path)} <<'KUBELAB_EOF'\n${lines.map((l) => `${l}\n`).join("")}KUBELAB_EOF`;
}

/**
 * hostsBlockCommand puts the cluster's managed block into the hosts file `file` the way the
 * playbook's blockinfile does: replaced where it is (from its BEGIN to its END marker), or
 * appended. The file is rewritten in place (its inode kept: /etc/hosts may be a mount).
 */
export function hostsBlockCommand(plan: Plan, file = "/etc/hosts"): string {
  const lines = renderHostsBlock(plan).split("\n");
  const begin = lines[0] ?? "";
  const end = lines.at(-1) ?? "";
  const body = lines.slice(1, -1).join("\n");
  // ENVIRON, not awk -v: -v would read backslashes in the values as escapes.
  const program = [
    'BEGIN { b = ENVIRON["KUBELAB_BEGIN"]; e = ENVIRON["KUBELAB_END"]; body = ENVIRON["KUBELAB_BODY"] }',
    "$0 == b { if (!done) { print b; print body; print e }; done = 1; skip = 1; next }",
    "skip { if ($0 == e) skip = 0; next }",
    "{ print }",
    "END { if (!done) { print b; print body; print e } }",
  ].join("\n");
  const f = quote(file);
  const tmp = quote(`${file}.kubelab-new`);
  return [
    `KUBELAB_BEGIN=${quote(begin)} KUBELAB_END=${quote(end)} KUBELAB_BODY=${quote(body)} awk ${quote(program)} ${f} >${tmp}`,
    `cat ${tmp} >${f}`,
    `rm -f ${tmp}`,
  ].join("\n");
}

/** The files the floor writes whole on `nodeName`, in the playbook's order (not /etc/hosts: a block is merged there). */
export function floorFiles(
  plan: Plan,
  nodeName: string,
  opts: Pick<FloorOptions, "env" | "aptUrl">,
): { path: string; content: string }[] {
  const rendered = renderNodeFiles(plan, nodeName, opts.env).filter((f) => f.path !== "/etc/hosts");
  return [
    ...rendered.map((f) => ({ path: f.path, content: f.content })),
    { path: UNIT_PATH, content: CONTAINERD_UNIT },
    { path: SOURCES_PATH, content: sourcesLine(opts.aptUrl, false) },
  ];
}

/**
 * floorScript is the whole preparation of one node as one bash script, the playbook's
 * steps (sysctls applied once written, as kubelab does, not at the end as the playbook's
 * handler): hostname, swap, kernel modules, /etc/hosts, every rendered file, sysctls, the
 * release files (fetched from the host's file server at once, as kubelab fetches them, each
 * streamed into tar), kubeadm, kubelet and kubectl from the apt repository (that source
 * refreshed alone) and held, then containerd enabled, restarted and its config checked with
 * its own parser. The script is one brace group read whole before it runs, with stdin from
 * /dev/null: run as `bash -s` with the script on stdin, no command can eat the rest of it.
 */
export function floorScript(plan: Plan, nodeName: string, opts: FloorOptions): string {
  const node = plan.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`floorScript: node ${nodeName} is not in cluster ${plan.name}`);
  const files = floorFiles(plan, nodeName, opts);
  const modules = renderModulesLoad(plan)
    .content.split("\n")
    .filter((l) => l && !l.startsWith("#"));
  const sysctl = renderSysctl(plan).path;
  const dirs = [...new Set([...DIRECTORIES, ...files.map((f) => f.path.slice(0, f.path.lastIndexOf("/")))])];
  const version = plan.kubernetes.packageVersion;
  const systemd = plan.containerd.cgroupDriver === "systemd";
  const { release } = opts;
  // The Kubernetes source refreshed alone: a lab node's other sources may be unreachable.
  const update = `apt-get -q -o Dir::Etc::sourcelist=${SOURCES_PATH} -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 update`;
  const name = quote(node.name);
  return `# kubelab bench: the floor of node preparation for ${node.name} (cluster ${plan.name}).
{
set -euo pipefail
umask 022
export DEBIAN_FRONTEND=noninteractive

# --- Configure the OS ---
printf '%s\\n' ${name} >/etc/hostname
[ "$(hostname)" = ${name} ] || hostname ${name}
# kubelet refuses to start with swap on.
if [ -n "$(tail -n +2 /proc/swaps)" ]; then swapoff -a; fi
if [ -f /etc/fstab ] && grep -Eq '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab; then
  sed -i -E 's/^([^#].*[[:space:]]swap[[:space:]].*)$/# disabled by kubelab (kubelet needs swap off): \\1/' /etc/fstab
fi
# Where modules cannot be loaded (nspawn nodes) modprobe fails: ignored, as kubelab and the playbook do.
modprobe -a ${modules.map(quote).join(" ")} 2>/dev/null || true

# --- Write the node's files ---
mkdir -p ${dirs.map(quote).join(" ")}
${hostsBlockCommand(plan)}
${files.map((f) => writeFileCommand(f.path, f.content)).join("\n")}
sysctl -q -p ${quote(sysctl)}

# --- Install containerd, runc and the CNI plugins (served decompressed: tar only unpacks) ---
curl -fsS --retry 2 --retry-connrefused ${quote(release.containerd)} | tar -C /usr/local -xf - &
containerd_pid=$!
curl -fsS --retry 2 --retry-connrefused ${quote(release.cniPlugins)} | tar -C /opt/cni/bin -xf - &
cni_pid=$!
curl -fsS --retry 2 --retry-connrefused -o /usr/local/sbin/runc ${quote(release.runc)} &
runc_pid=$!
wait "$containerd_pid"
wait "$cni_pid"
wait "$runc_pid"
chmod 755 /usr/local/sbin/runc

# --- Install kubeadm, kubelet and kubectl, held ---
${update}
apt-get -q install -y --allow-downgrades --no-install-recommends ${FLOOR_PACKAGES.map((p) => `${p}=${quote(version)}`).join(" ")}
printf '%s hold\\n' ${FLOOR_PACKAGES.join(" ")} | dpkg --set-selections

# --- Start containerd ---
# enable reloads systemd's configuration, so restart sees the new unit.
systemctl enable -q containerd
systemctl restart containerd
dump=$(containerd config dump)
case "$dump" in
  *"SystemdCgroup = ${systemd}"*) ;;
  *) echo "containerd does not report SystemdCgroup = ${systemd}" >&2; exit 1 ;;
esac
} </dev/null
`;
}
