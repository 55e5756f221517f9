// Layer entries for the OCI layout tests: every kind of entry a layer holds, with the edge
// cases a tar writer gets wrong (long names, ids beyond ustar, xattrs, links, sticky bits).
import type { LayerEntry } from "../../src/oci/layout.js";

/** LONG is a path longer than ustar's 100-byte name field. */
export const LONG = `deep/${"d".repeat(60)}/${"e".repeat(60)}/file-with-a-long-name.txt`;
/** CAP is a vfs_cap_data: revision 2, effective, permitted = CAP_NET_BIND_SERVICE (what setcap writes). */
export const CAP = Buffer.from("0100000200040000000000000000000000000000", "hex");

/** ENTRIES holds one entry of each kind, in no particular order. */
export const ENTRIES: LayerEntry[] = [
  { path: "/usr/local/bin/tool", mode: 0o755, content: "#!/bin/sh\necho hi\n" },
  { path: "etc/passwd", content: "root:x:0:0:root:/root:/sbin/nologin\n" },
  { path: "etc/big-ids", content: "", uid: 3_000_000, gid: 3_000_001 }, // beyond ustar's 7 octal digits
  { path: "/tmp", directory: true, mode: 0o1777 },
  { path: "bin", symlink: "usr/bin" },
  { path: "usr/local/bin/tool-again", hardlink: "usr/local/bin/tool" },
  { path: LONG, content: Buffer.alloc(1000, 7), uid: 65532, gid: 65532 },
  { path: "coredns", mode: 0o755, content: "binary", xattrs: { "security.capability": CAP } },
];
