// The environment kubelab gives vagrant: pointed at the cluster directory, with the user's
// settings that would send it elsewhere left out.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { vagrantEnv } from "./cli.js";

test("vagrantEnv: pointed at the cluster directory; VAGRANT_HOME passes, the dotfile path and default provider do not", () => {
  const env = vagrantEnv("relative/.kubelab/lab", {
    PATH: "/usr/bin",
    VAGRANT_HOME: "/h/.vagrant.d",
    VAGRANT_DOTFILE_PATH: "/shared/.vagrant",
    VAGRANT_DEFAULT_PROVIDER: "virtualbox",
    VAGRANT_VAGRANTFILE: "Other",
  });
  assert.deepEqual(env, {
    VAGRANT_CHECKPOINT_DISABLE: "1",
    PATH: "/usr/bin",
    VAGRANT_HOME: "/h/.vagrant.d",
    VAGRANT_CWD: join(process.cwd(), "relative/.kubelab/lab"),
    VAGRANT_VAGRANTFILE: "Vagrantfile",
  });
  assert.equal(vagrantEnv("/d", { VAGRANT_CHECKPOINT_DISABLE: "" }).VAGRANT_CHECKPOINT_DISABLE, "");
});
