// The kubelab command from the sources, for tools that run kubelab as a program (OpenTofu's
// local-exec): `<repo>/node_modules/.bin/tsx <repo>/test/helpers/kubelab-bin.ts ARGS...`.
import { run } from "../../src/cli/main.js";

process.exitCode = await run(process.argv.slice(2));
