// Package update owns the firmware's over-the-air updates: the signed bundle
// format (a tar of manifest.json, manifest.sig and the artifacts it lists),
// its verification (ed25519 signature by a key baked into the image, board,
// build number), and the A/B agent on the device: stage a bundle on /perm,
// write the inactive root slot and its kernel, read them back and compare
// hashes, test-boot the slot once (systemd-boot's LoaderEntryOneShot EFI
// variable on UEFI boards), run health checks after that boot, and commit
// (loader.conf default) or reboot into the old slot.
//
// Disk layout (gokrazy's partition contract): 1 boot FAT, 2 root slot a,
// 3 root slot b, 4 /perm. The kernel command line names the root as
// root=PARTUUID=<guid of partition 1>/PARTNROFF=1 (slot a) or =2 (slot b).
// The agent keeps its state in <perm>/update/state.json.
package update
