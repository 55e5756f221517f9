import type { Plan } from "../plan/types.js";
import { sshProvider } from "./ssh.js";
import type { MachineProvider } from "./types.js";

/** providerFor returns the machine provider the plan names. */
export async function providerFor(plan: Plan): Promise<MachineProvider> {
  switch (plan.provider.name) {
    case "ssh":
      return sshProvider;
    case "nspawn":
      return (await import("./nspawn/provider.js")).nspawnProvider;
    case "vagrant":
      return (await import("./vagrant/provider.js")).vagrantProvider;
  }
}
