#!/usr/bin/env bash
# Build a vagrant-libvirt box of Debian 12 from a debootstrap rootfs, for the tests that run
# a real `vagrant up` (npm run test:vagrant): these machines can reach Debian's archive but
# no box registry. The box is an ordinary one: an MBR disk with GRUB (BIOS boot), ext4 root,
# user `vagrant` with Vagrant's well-known key and passwordless sudo, systemd-networkd (DHCP on
# eth0; Vagrant's Debian guest support writes the private network's static address), host
# keys and machine-id made at first boot so that every VM of the box differs.
#   usage: scripts/dev-tools/vagrant-box.sh   (needs root, debootstrap, fdisk, qemu-system-x86
#          and qemu-utils; cold: ~4 min)
# Installs ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/vagrant/debian-12-v<RECIPE>/kubelab-dev-debian-12.box
# and prints its path as the last stdout line; progress goes to stderr.
set -euo pipefail

RECIPE=1
name=kubelab-dev-debian-12
dest="${XDG_CACHE_HOME:-$HOME/.cache}/kubelab-dev/vagrant/debian-12-v$RECIPE"
box="$dest/$name.box"
mirror="${KUBELAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
log() { echo "vagrant-box: $*" >&2; }
# shellcheck source=scripts/dev-tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ -f $box ]] && already_built "$box" "$box"
[[ $(id -u) == 0 ]] || { log "needs root (debootstrap)"; exit 1; }
for tool in debootstrap qemu-system-x86_64 qemu-img sfdisk mkfs.ext4; do
  command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool || -x /sbin/$tool ]] ||
    { log "$tool not found (install-deps.sh installs it)"; exit 1; }
done
export PATH="$PATH:/usr/sbin:/sbin"

tmp="$(build_dir "$dest")"
cleanup() {
  # debootstrap mounts /proc and /sys in the target; a failed run may leave them.
  for m in "$tmp/rootfs/proc" "$tmp/rootfs/sys"; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
start=$SECONDS

packages=(systemd systemd-sysv systemd-resolved dbus openssh-server sudo linux-image-amd64 initramfs-tools grub-pc
  iproute2 iptables ca-certificates gnupg curl procps kmod runc conntrack socat ethtool ebtables
  apt-transport-https iputils-ping)
log "debootstrap bookworm from $mirror"
debootstrap --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" bookworm "$tmp/rootfs" "$mirror" >&2
root="$tmp/rootfs"

log "configuring the guest"
uuid="$(cat /proc/sys/kernel/random/uuid)"
kver="$(basename "$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)")"
kver="${kver#vmlinuz-}"
echo "deb $mirror bookworm main" >"$root/etc/apt/sources.list"
echo "UUID=$uuid / ext4 errors=remount-ro 0 1" >"$root/etc/fstab"
echo debian-12 >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 debian-12\n::1 localhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
: >"$root/etc/machine-id" # made at first boot: DHCP client ids come from it
rm -f "$root/var/lib/dbus/machine-id" "$root"/etc/ssh/ssh_host_*
mkdir -p "$root/etc/systemd/system/ssh.service.d"
printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
  >"$root/etc/systemd/system/ssh.service.d/host-keys.conf"
echo 'UseDNS no' >"$root/etc/ssh/sshd_config.d/vagrant.conf"
printf '[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n' >"$root/etc/systemd/network/10-eth0.network"
ln -sf /run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
chroot "$root" systemctl enable systemd-networkd systemd-resolved ssh >&2
chroot "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer >&2
chroot "$root" useradd -m -s /bin/bash -U vagrant
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' >"$root/etc/sudoers.d/vagrant"
chmod 0440 "$root/etc/sudoers.d/vagrant"
install -d -m 0700 -o 1000 -g 1000 "$root/home/vagrant/.ssh"
key="$(dpkg -L vagrant | grep '/keys/vagrant.pub$' | head -1)"
install -m 0600 -o 1000 -g 1000 "$key" "$root/home/vagrant/.ssh/authorized_keys"
cat >"$root/etc/default/grub" <<'EOF'
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200 net.ifnames=0 biosdevname=0"
GRUB_TERMINAL="serial console"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
EOF
cat >"$root/etc/systemd/system/box-setup.service" <<'EOF'
[Unit]
Description=Install GRUB on the box's disk (box build only)
[Service]
Type=oneshot
ExecStart=/bin/sh -ec 'grub-install --target=i386-pc /dev/vda; update-grub; rm -f /etc/systemd/system/box-setup.*; echo KUBELAB-BOX-READY >/dev/ttyS0'
ExecStartPost=/bin/systemctl --no-block poweroff
EOF
printf '[Unit]\nDescription=Box build\nRequires=box-setup.service\nAfter=box-setup.service\n' \
  >"$root/etc/systemd/system/box-setup.target"
chroot "$root" apt-get clean
rm -rf "$root/var/lib/apt/lists/"* "$root/var/log/"*.log

log "making the disk (8 GiB, MBR, ext4 at 1 MiB)"
disk="$tmp/disk.raw" part="$tmp/part.raw"
truncate -s 8G "$disk"
echo 'start=2048, type=83, bootable' | sfdisk -q "$disk" >&2
truncate -s $((8 * 1024 - 1))M "$part"
mkfs.ext4 -q -F -L root -U "$uuid" -d "$root" "$part" >&2
dd if="$part" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none
rm -f "$part"

# GRUB goes on the disk from inside the guest, at a first boot of its own kernel under QEMU
# (no loop partitions needed on this host): a one-shot unit installs it, writes the
# configuration, prints a marker on the serial console and powers off.
log "installing GRUB from inside the guest (one boot under QEMU)"
serial="$tmp/first-boot.log"
timeout 900 qemu-system-x86_64 -accel tcg -m 1024 -smp 2 -nographic -no-reboot -nic none \
  -drive "file=$disk,format=raw,if=virtio" \
  -kernel "$root/boot/vmlinuz-$kver" -initrd "$root/boot/initrd.img-$kver" \
  -append "root=UUID=$uuid rw console=ttyS0 net.ifnames=0 systemd.unit=box-setup.target" \
  </dev/null >"$serial" 2>&1 || true
grep -q KUBELAB-BOX-READY "$serial" || { tail -40 "$serial" >&2; log "the guest's first boot did not install GRUB"; exit 1; }

log "packing the box"
qemu-img convert -c -O qcow2 "$disk" "$tmp/box.img"
rm -f "$disk"
printf '{\n  "provider": "libvirt",\n  "format": "qcow2",\n  "virtual_size": 8\n}\n' >"$tmp/metadata.json"
printf 'Vagrant.configure("2") do |config|\n  config.vm.provider :libvirt do |libvirt|\n    libvirt.disk_bus = "virtio"\n  end\nend\n' >"$tmp/Vagrantfile"
tar -C "$tmp" -cf "$tmp/$name.box" metadata.json Vagrantfile box.img
mv "$tmp/$name.box" "$box"
log "built $box in $((SECONDS - start)) s ($(du -h "$box" | cut -f1))"
echo "$box"
