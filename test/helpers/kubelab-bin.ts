// The kubelab command from the sources, for tools that run kubelab as a program (OpenTofu's
// local-exec): `<repo>/node_modules/.bin/tsx <repo>/test/helpers/kubelab-bin.ts ARGS...`.
import { readFile } from "node:fs/promises";
import { useTrustAnchors } from "../../src/artifacts/bundle-trust.js";
import { run } from "../../src/cli/main.js";
import { bundleTrust, TRUST_ENV } from "./bundle.js";

// A test's bundles are built and signed here: it names its anchors for the processes it starts.
const trustFile = process.env[TRUST_ENV];
if (trustFile) useTrustAnchors(bundleTrust(JSON.parse(await readFile(trustFile, "utf8"))));

process.exitCode = await run(process.argv.slice(2));
