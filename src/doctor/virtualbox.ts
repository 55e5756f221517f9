/**
 * Reading the node VMs from VirtualBox on this host (vagrant provider, hypervisor virtualbox),
 * for the checks of the host-only NIC's promiscuous mode and of the disks' host I/O cache
 * (docs/known-failures.md explains both failures). kubelab's Vagrantfile names each VM `<cluster>-<node>`; other VMs are never read.
 *
 * Where the facts are (VirtualBox's own source, src/VBox/Frontends/VBoxManage/VBoxManageInfo.cpp
 * and src/VBox/Main/xml/Settings.cpp):
 *  - `VBoxManage list vms` prints `"<name>" {<uuid>}` per VM;
 *  - `VBoxManage showvminfo <uuid> --machinereadable` prints `key="value"` lines (`"` and `\`
 *    escaped with `\`, numbers unquoted, keys holding `=` or a controller name quoted), among
 *    them `CfgFile`, `VMState`, per NIC `nicN` (`nat`, `hostonly`, `hostonlynetwork`, `none`,
 *    ...), `hostonlyadapterN`, `macaddressN`, and per storage controller `storagecontrollernameN`,
 *    `storagecontrollertypeN`, ... `storagecontrollerbootableN`. It prints NO key for a NIC's
 *    promiscuous-mode policy (only the human-readable form has `Promisc Policy: deny`, and that
 *    text is translated) and nothing at all about the host I/O cache;
 *  - the VM's settings file (`CfgFile`, XML) has both: `<Adapter slot="N-1" ...
 *    promiscuousModePolicy="AllowNetwork|AllowAll">` (the attribute is left out for the default,
 *    Deny) and `<StorageController name=".." type=".." ... useHostIOCache="true|false" ...>`.
 */
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { readFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import type { Plan } from "../plan/types.js";
import { legacyVmName, vmName } from "../render/vagrantfile.js";
import type { VirtualBoxVmEvidence } from "./types.js";

/** Runs `VBoxManage ARGS`; never rejects for a non-zero exit. */
export type VBoxManageRun = (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

/** Whether the plan's machines are VirtualBox VMs. */
export const onVirtualBox = (plan: Plan) =>
  plan.provider.name === "vagrant" && plan.provider.hypervisor === "virtualbox";

/** VBoxManage on PATH (Linux and macOS installs put it in /usr/bin or /usr/local/bin). */
function findVBoxManage(): string | undefined {
  for (const dir of [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/local/bin"]) {
    if (!dir) continue;
    for (const name of ["VBoxManage", "vboxmanage"]) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {}
    }
  }
  return undefined;
}

function vboxmanage(path: string): VBoxManageRun {
  return (args) =>
    new Promise((resolve) => {
      execFile(
        path,
        args,
        { encoding: "utf8", timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = !err
            ? 0
            : typeof (err as { code?: unknown }).code === "number"
              ? (err as { code: number }).code
              : -1;
          resolve({ code, stdout, stderr: stderr || (err && code === -1 ? err.message : "") });
        },
      );
    });
}

/** parseListVms reads `VBoxManage list vms`: `"name" {uuid}` per line. */
export function parseListVms(text: string): { name: string; uuid: string }[] {
  const vms: { name: string; uuid: string }[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^"(.*)" \{([0-9a-fA-F-]{36})\}\s*$/.exec(line);
    if (m) vms.push({ name: m[1] as string, uuid: m[2] as string });
  }
  return vms;
}

/** One `"..."` string of machine-readable output from `at` (just after the opening quote), unescaped. */
function quoted(line: string, at: number): { value: string; end: number } {
  let value = "";
  let i = at;
  for (; i < line.length && line[i] !== '"'; i++) {
    if (line[i] === "\\" && i + 1 < line.length) i++;
    value += line[i];
  }
  return { value, end: i + 1 };
}

/**
 * parseMachineReadable reads `showvminfo --machinereadable` into key -> value. Lines without a
 * `key=` (the recording section prints ` rec_screen0`) are left out; of repeated keys (the
 * recording screens repeat theirs) the first wins.
 */
export function parseMachineReadable(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    let key: string;
    let rest: number;
    if (line.startsWith('"')) {
      const k = quoted(line, 1);
      key = k.value;
      rest = k.end;
    } else {
      const eq = line.indexOf("=");
      if (eq <= 0) continue;
      key = line.slice(0, eq);
      rest = eq;
    }
    if (line[rest] !== "=") continue;
    const value = line[rest + 1] === '"' ? quoted(line, rest + 2).value : line.slice(rest + 1);
    if (!out.has(key)) out.set(key, value);
  }
  return out;
}

const unescapeXml = (s: string) =>
  s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) =>
    e === "amp"
      ? "&"
      : e === "lt"
        ? "<"
        : e === "gt"
          ? ">"
          : e === "quot"
            ? '"'
            : e === "apos"
              ? "'"
              : String.fromCodePoint(e.startsWith("#x") ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1))),
  );

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w:.-]+)="([^"]*)"/g)) out[m[1] as string] = unescapeXml(m[2] as string);
  return out;
}

/** A NIC as the settings file has it (an adapter with all-default settings is not written). */
export interface SettingsAdapter {
  /** 0-based: NIC N is slot N-1. */
  readonly slot: number;
  /** The start tag as written, for evidence. */
  readonly tag: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** A storage controller as the settings file has it. */
export interface SettingsController {
  readonly name: string;
  readonly tag: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** Whether a hard disk (not a DVD or floppy) is attached to it. */
  readonly hasDisk: boolean;
}

/**
 * parseVboxSettings reads the NICs and storage controllers of the machine's current state from
 * its settings file: snapshots (which keep their own hardware) are left out.
 */
export function parseVboxSettings(xml: string): { adapters: SettingsAdapter[]; controllers: SettingsController[] } {
  const first = xml.search(/<Snapshot[\s>]/);
  const last = xml.lastIndexOf("</Snapshot>");
  const current = first >= 0 && last > first ? xml.slice(0, first) + xml.slice(last + "</Snapshot>".length) : xml;
  const adapters = [...current.matchAll(/<Adapter\b[^>]*>/g)].map((m) => {
    const attrs = attributes(m[0]);
    return { slot: Number(attrs.slot), tag: m[0], attributes: attrs };
  });
  const controllers = [...current.matchAll(/(<StorageController\b[^>]*?)(\/>|>([\s\S]*?)<\/StorageController>)/g)].map(
    (m) => {
      const attrs = attributes(m[1] as string);
      const tag = `${m[1]}${(m[2] as string).startsWith("/>") ? "/>" : ">"}`;
      return { name: attrs.name ?? "", tag, attributes: attrs, hasDisk: /\btype="HardDisk"/.test(m[3] ?? "") };
    },
  );
  return { adapters, controllers };
}

/**
 * collectVirtualBox reads each node's VM: `VBoxManage list vms`, then `showvminfo --machinereadable`
 * and the settings file of every VM named `<cluster>-<node>` (VMs of other clusters are not
 * touched). Undefined when the nodes are not VirtualBox VMs; throws when VBoxManage is not on
 * PATH or no VM of the cluster exists. `run` and `read` replace VBoxManage and the file system
 * (tests replay recorded outputs through them).
 */
export async function collectVirtualBox(
  plan: Plan,
  run?: VBoxManageRun,
  read: (path: string) => Promise<string> = (path) => readFile(path, "utf8"),
): Promise<Record<string, VirtualBoxVmEvidence> | undefined> {
  if (!onVirtualBox(plan)) return undefined;
  let vbox = run;
  if (!vbox) {
    const path = findVBoxManage();
    if (!path) throw new Error("VBoxManage is not on PATH (it comes with VirtualBox), so the node VMs cannot be read");
    vbox = vboxmanage(path);
  }
  const list = await vbox(["list", "vms"]);
  if (list.code !== 0) throw new Error(`VBoxManage list vms: ${(list.stderr || list.stdout).trim()}`);
  const vms = parseListVms(list.stdout);
  const wanted = plan.nodes.map((n) => ({ node: n.name, name: vmName(plan, n.name) }));
  const found = wanted.flatMap((w) => {
    // A VM made by an earlier version keeps its old name until it boots again.
    const legacy = legacyVmName(plan, w.node);
    const vm = vms.find((v) => v.name === w.name) ?? vms.find((v) => v.name === legacy);
    return vm ? [{ ...w, name: vm.name, uuid: vm.uuid }] : [];
  });
  if (found.length === 0)
    throw new Error(
      `no VirtualBox VM named ${wanted.map((w) => w.name).join(", ")} (kubelab up creates them; VBoxManage list vms has ${vms.length} other VM${vms.length === 1 ? "" : "s"})`,
    );
  const read1 = async (vm: (typeof found)[number]): Promise<[string, VirtualBoxVmEvidence] | undefined> => {
    const info = await (vbox as VBoxManageRun)(["showvminfo", vm.uuid, "--machinereadable"]);
    if (info.code !== 0) return undefined;
    const cfg = parseMachineReadable(info.stdout).get("CfgFile");
    const settings = cfg ? await read(cfg).catch(() => null) : null;
    return [vm.node, { name: vm.name, uuid: vm.uuid, showvminfo: info.stdout, settings }];
  };
  const entries = (await Promise.all(found.map(read1))).filter((e) => e !== undefined);
  if (entries.length === 0) throw new Error(`VBoxManage showvminfo failed for ${found.map((f) => f.name).join(", ")}`);
  return Object.fromEntries(entries);
}
