// Package hardware is the table of boards Facteur's firmware image runs on:
// for each board, the gokrazy kernel and firmware Go modules it boots, its
// serial console, where the boot partition starts, which files go on the boot
// partition, how an update is test-booted, and its quirks (watchdog, status
// LED, reset button). The table is data; the image builder (image/) and the
// update agent (appliance/update) read it. It imports nothing from the rest
// of the repository.
package hardware

import (
	"fmt"
	"sort"
)

// Boot methods: how the firmware finds the kernel and how a slot is
// test-booted once.
const (
	// BootUEFI: UEFI firmware loads systemd-boot from EFI/BOOT, which
	// reads loader/loader.conf and loader/entries/{a,b}.conf. A test boot
	// sets the LoaderEntryOneShot EFI variable.
	BootUEFI = "uefi"
	// BootRPi: the Raspberry Pi firmware reads config.txt (kernel= and
	// cmdline= name the slot's files). A test boot writes tryboot.txt and
	// reboots with the "tryboot" flag (Raspberry Pi 4 and 5 only).
	BootRPi = "rpi"
)

// Board describes one kind of device the image is built for.
type Board struct {
	Name  string // the -board value: "pc", "rpi4", ...
	Title string // for people
	// GOARCH of the binaries in the root file system.
	GOARCH string
	// KernelModule is the Go module holding vmlinuz, cmdline.txt and
	// lib/modules (github.com/gokrazy/kernel.*).
	KernelModule string
	// FirmwareModule holds the boot firmware files copied to the boot
	// partition ("" when the board's firmware is in flash, like a PC's).
	FirmwareModule string
	// FirmwareGlobs select the files of FirmwareModule and of the kernel
	// module (besides vmlinuz) that go on the boot partition.
	FirmwareGlobs []string
	KernelGlobs   []string
	// Boot is BootUEFI or BootRPi.
	Boot string
	// Console is the kernel console= value of the serial port; the last
	// console= on the command line becomes /dev/console.
	Console string
	// CmdlineExtra is appended to the kernel command line.
	CmdlineExtra string
	// BootStartLBA is the first 512-byte sector of the boot partition.
	BootStartLBA uint64
	// RootTypeGUID is the GPT partition type of root slot A (the
	// architecture's Discoverable Partitions root type).
	RootTypeGUID string
	Quirks       Quirks
	// QEMU is how a test boots the board, if it can be emulated.
	QEMU *QEMU
}

// Quirks are the board's devices that the init and the agent use.
type Quirks struct {
	// Watchdog is the hardware watchdog device ("" if none). gokrazy's init
	// pings /dev/watchdog; a hung test boot is reset and comes back on the
	// committed slot.
	Watchdog string
	// StatusLED is the sysfs LED the appliance blinks ("" if none).
	StatusLED string
	// ResetButton is the GPIO line (sysfs name) that, held at boot, offers
	// a factory reset ("" if the board has none).
	ResetButton string
}

// QEMU is how to emulate a board for tests.
type QEMU struct {
	Binary  string   // qemu-system-x86_64 or qemu-system-aarch64
	Args    []string // machine, CPU, memory and firmware arguments
	Disk    string   // the -drive interface for the image
	NetDev  string   // the -device of the network card
	Pflash  []string // read-only firmware code image, then the variable store template
	NoKVMOK bool     // boots under TCG in a few minutes
}

// Partition GUID types (UEFI spec and the Discoverable Partitions spec).
const (
	TypeESP       = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
	TypeRootAMD64 = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
	TypeRootARM64 = "B921B045-1DF0-41C3-AF44-4C6F280D3FAE"
	TypeLinuxData = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
)

const (
	kernelAMD64 = "github.com/gokrazy/kernel.amd64"
	kernelARM64 = "github.com/gokrazy/kernel.arm64"
	kernelRPi   = "github.com/gokrazy/kernel.rpi"
	firmwareRPi = "github.com/gokrazy/firmware"
)

var ovmf = []string{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"}
var aavmf = []string{"/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"}

var rpiFirmwareGlobs = []string{"*.bin", "*.dat", "*.elf", "overlays/*.dtbo"}
var rpiKernelGlobs = []string{"*.dtb", "overlays/*.dtbo"}

var boards = map[string]Board{
	"pc": {
		Name: "pc", Title: "x86-64 PC (UEFI)", GOARCH: "amd64",
		KernelModule: kernelAMD64, Boot: BootUEFI,
		Console: "ttyS0,115200", CmdlineExtra: "pci=nommconf",
		BootStartLBA: 8192, RootTypeGUID: TypeRootAMD64,
		Quirks: Quirks{Watchdog: "/dev/watchdog"},
	},
	"qemu-amd64": {
		Name: "qemu-amd64", Title: "QEMU q35 with OVMF (test target)", GOARCH: "amd64",
		KernelModule: kernelAMD64, Boot: BootUEFI,
		Console: "ttyS0,115200", CmdlineExtra: "pci=nommconf",
		BootStartLBA: 8192, RootTypeGUID: TypeRootAMD64,
		Quirks: Quirks{Watchdog: "/dev/watchdog"},
		QEMU: &QEMU{
			Binary: "qemu-system-x86_64",
			Args:   []string{"-machine", "q35", "-m", "1024", "-smp", "1", "-device", "i6300esb", "-watchdog-action", "reset"},
			Disk:   "virtio", NetDev: "virtio-net-pci", Pflash: ovmf, NoKVMOK: true,
		},
	},
	"qemu-arm64": {
		Name: "qemu-arm64", Title: "QEMU virt, Cortex-A72, with AAVMF (test target)", GOARCH: "arm64",
		KernelModule: kernelARM64, Boot: BootUEFI,
		Console:      "ttyAMA0,115200",
		BootStartLBA: 8192, RootTypeGUID: TypeRootARM64,
		QEMU: &QEMU{
			Binary: "qemu-system-aarch64",
			Args:   []string{"-machine", "virt", "-cpu", "cortex-a72", "-m", "1024", "-smp", "1"},
			Disk:   "virtio", NetDev: "virtio-net-pci", Pflash: aavmf, NoKVMOK: true,
		},
	},
	"rpi4": {
		Name: "rpi4", Title: "Raspberry Pi 4 / CM4 / 400", GOARCH: "arm64",
		KernelModule: kernelRPi, FirmwareModule: firmwareRPi,
		FirmwareGlobs: rpiFirmwareGlobs, KernelGlobs: rpiKernelGlobs, Boot: BootRPi,
		Console: "serial0,115200", CmdlineExtra: "rootwait",
		BootStartLBA: 8192, RootTypeGUID: TypeRootARM64,
		Quirks: Quirks{Watchdog: "/dev/watchdog", StatusLED: "ACT", ResetButton: "GPIO3"},
	},
	"rpi5": {
		Name: "rpi5", Title: "Raspberry Pi 5 / CM5", GOARCH: "arm64",
		// The Pi 5 boot loader is in its EEPROM; the boot partition holds
		// only the kernel, device trees and config.txt.
		KernelModule: kernelRPi, KernelGlobs: rpiKernelGlobs, Boot: BootRPi,
		Console: "serial0,115200", CmdlineExtra: "rootwait",
		BootStartLBA: 8192, RootTypeGUID: TypeRootARM64,
		Quirks: Quirks{Watchdog: "/dev/watchdog", StatusLED: "ACT", ResetButton: "PWR_BUTTON"},
	},
}

// Lookup returns the board called name.
func Lookup(name string) (Board, error) {
	b, ok := boards[name]
	if !ok {
		return Board{}, fmt.Errorf("unknown board %q (known: %v)", name, Names())
	}
	return b, nil
}

// Names lists the known boards, sorted.
func Names() []string {
	var names []string
	for n := range boards {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
