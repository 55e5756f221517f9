// The rendered Vagrantfile as text: the settings kubelab writes for VirtualBox and libvirt, and
// the pinned boxes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { planWith } from "../../test/helpers/fixtures.js";
import { renderVagrantfile } from "./vagrantfile.js";

test("VirtualBox: host-only NIC promiscuous allow-all, linked clones, no synced folder; the netmask from the CIDR", () => {
  const text = renderVagrantfile(planWith(() => {}));
  assert.match(text, /vb\.customize \["modifyvm", :id, "--nicpromisc2", "allow-all"\]/);
  assert.match(text, /vb\.linked_clone = true/);
  assert.match(text, /synced_folder "\.", "\/vagrant", disabled: true/);
  assert.match(text, /^ {2}config\.ssh\.insert_key = true$/m, "each VM replaces the box's insecure key");
  assert.match(text, /private_network", ip: node\[:ip\], netmask: "255\.255\.255\.0"\n/);
  assert.doesNotMatch(text, /libvirt/);
});

test("the pinned box and its version; the host I/O cache off on its disk controller, not guessed for other boxes", () => {
  const pinned = renderVagrantfile(planWith(() => {}));
  assert.match(pinned, /config\.vm\.box = "bento\/ubuntu-24\.04"\n {2}config\.vm\.box_version = "202510\.26\.0"/);
  assert.match(pinned, /vb\.customize \["storagectl", :id, "--name", "SATA Controller", "--hostiocache", "off"\]/);
  const own = renderVagrantfile(
    planWith((raw) => {
      raw.provider.box = "example/own-box";
    }),
  );
  assert.doesNotMatch(own, /box_version|storagectl/);
});

test("libvirt: an isolated lab network without DHCP (MetalLB's pool stays free), the domain type from the file", () => {
  const text = renderVagrantfile(
    planWith((raw) => {
      raw.provider = { name: "vagrant", hypervisor: "libvirt", libvirtDriver: "qemu" };
    }),
  );
  assert.match(text, /config\.vm\.box = "cloud-image\/ubuntu-24\.04"\n {2}config\.vm\.box_version = "20250805\.0\.0"/);
  assert.match(text, /libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"/);
  assert.match(text, /lv\.driver = "qemu"/);
  assert.doesNotMatch(text, /virtualbox|storagectl/);
});
