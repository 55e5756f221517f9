import assert from "node:assert/strict";
import { mkdir, readdir, readFile, rename, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { kubelab } from "../../../test/helpers/cli.js";
import { withDir } from "../../../test/helpers/tmp.js";
import { renderingCommand } from "./render.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));

describe("render --terraform", () => {
  it("writes a root that carries its module and names no path of kubelab's own; it still reads after a move", async () => {
    await withDir(async (dir) => {
      const root = join(dir, "tf");
      const r = await kubelab("render", "--terraform", root);
      assert.equal(r.code, 0, r.err);
      const main = await readFile(join(root, "main.tf.json"), "utf8");
      assert.ok(!main.includes(REPO), "main.tf.json points into kubelab's checkout");
      const parsed = JSON.parse(main);
      assert.equal(parsed.module.cluster.source, "./modules/cluster");
      assert.deepEqual(
        (await readdir(join(root, "modules", "cluster"))).sort(),
        (await readdir(join(REPO, "terraform", "modules", "cluster"))).sort(),
      );
      // Moved with its folder, everything it names is still beside it.
      const moved = join(dir, "elsewhere");
      await rename(root, moved);
      for (const f of ["kubelab-plan.json", "kubelab.yaml", "modules/cluster/main.tf"])
        await readFile(join(moved, f), "utf8");
      // Rendered again over itself: the module is refreshed, nothing refuses.
      assert.equal((await kubelab("render", "--terraform", moved)).code, 0);
    });
  });

  it("the root's kubelab command is the kubelab that rendered it", async () => {
    await withDir(async (dir) => {
      const bin = join(dir, "node_modules", "kubelab", "bin");
      await mkdir(bin, { recursive: true });
      const script = join(bin, "kubelab.js");
      await writeFile(script, "");
      await mkdir(join(dir, "node_modules", ".bin"));
      const link = join(dir, "node_modules", ".bin", "kubelab");
      await symlink(script, link);
      assert.equal(renderingCommand(["/usr/bin/node", link], "/usr/bin/node"), `/usr/bin/node ${script}`);
      assert.equal(
        renderingCommand(["/opt/my node/node", script], "/opt/my node/node"),
        `'/opt/my node/node' ${script}`,
      );
      // kubelab as a library (a test runner, a script of the user's): PATH's kubelab.
      assert.equal(renderingCommand(["/usr/bin/node", join(dir, "build.js")]), "kubelab");
      assert.equal(renderingCommand(["/usr/bin/node", join(dir, "gone", "kubelab")]), "kubelab");
    });
  });
});
