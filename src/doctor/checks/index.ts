/** Every doctor check, in the order they are reported: the file, the nodes, the API, the probes, the VMs. */
import type { Check } from "../types.js";
import { apiChecks } from "./api.js";
import { fileChecks } from "./file.js";
import { nodeChecks } from "./nodes.js";
import { probeChecks } from "./probes.js";
import { virtualboxChecks } from "./virtualbox.js";

export const CHECKS: readonly Check[] = [
  ...fileChecks,
  ...nodeChecks,
  ...apiChecks,
  ...probeChecks,
  ...virtualboxChecks,
];
