#!/usr/bin/env node
// The kubelab command: the compiled CLI in dist/ (built by `npm ci` / `npm run build`).
const cli = await import("../dist/cli/main.js").catch((e) => {
  if (e?.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes("/dist/cli/main.js")) {
    process.stderr.write("kubelab is not built: run `npm run build` in its directory\n");
    process.exit(1);
  }
  throw e;
});
process.exitCode = await cli.run(process.argv.slice(2));
