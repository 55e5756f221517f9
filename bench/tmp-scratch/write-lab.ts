import { writeFile, mkdir } from "node:fs/promises";
import { stringify } from "yaml";
import { NO_ADDONS, nspawnTestCluster } from "../../test/helpers/nspawn.js";
const { raw } = nspawnTestCluster("noop", { workers: 2 }, { addons: NO_ADDONS });
await mkdir("/var/tmp/lab", { recursive: true });
await writeFile("/var/tmp/lab/kubelab.yaml", stringify(raw));
