// Package image builds Facteur's firmware: a disk image that keeps
// gokrazy's partition contract (GPT + hybrid MBR; 1 boot FAT at the board's
// start sector, 100 MiB; 2 and 3 root slots a and b, squashfs with zlib,
// 500 MiB each; 4 /perm, ext4, pre-formatted), and signed update bundles
// (see facteur/appliance/update for the format).
//
// The boot FAT holds, per slot, the kernel (vmlinuz-a, vmlinuz-b) and on
// UEFI boards a systemd-boot entry (loader/entries/facteur-a.conf) whose
// command line names the root as root=PARTUUID=<partition 1>/PARTNROFF=1,
// plus loader/loader.conf choosing the committed slot. Raspberry Pi
// boards get config.txt (kernel=vmlinuz-a, cmdline=cmdline-a.txt) and the
// firmware files instead.
//
// Builds are reproducible: file times come from SOURCE_DATE_EPOCH (the
// Epoch option), GUIDs and file system ids from the Seed option, and no
// step needs root or loop devices (mksquashfs, mtools and mkfs.ext4 work on
// plain files).
package image
