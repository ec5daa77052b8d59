package update

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/sys/unix"
)

// Slots are "a" (partition 2, PARTNROFF=1) and "b" (partition 3).
var slotPart = map[string]int{"a": 2, "b": 3}

// Other returns the slot that is not s.
func Other(s string) string {
	if s == "a" {
		return "b"
	}
	return "a"
}

// EntryName is the systemd-boot loader entry of a slot.
func EntryName(slot string) string { return "facteur-" + slot + ".conf" }

// KernelName is the kernel file of a slot on the boot partition.
func KernelName(slot string) string { return "vmlinuz-" + slot }

// Device is the disk the firmware runs from. On the device OpenDevice
// fills it from /proc/cmdline and /sys; tests fill it with temporary files.
type Device struct {
	Slot string // running slot: "a" or "b"
	// Parts are the block devices (or files) of partitions 1 to 4 (index 0
	// unused).
	Parts [5]string
	// BootDir is where the boot FAT is mounted; "" means mount Parts[1]
	// on demand.
	BootDir string
	// EFIVars is the efivarfs directory ("" on non-UEFI boards).
	EFIVars string
	// Perm is the /perm directory; the agent's state lives in Perm/update.
	Perm string
	// Keys is the directory of trusted public keys.
	Keys string
	// Reboot restarts the machine through its firmware (not kexec).
	Reboot func() error
}

// DeviceOptions override what OpenDevice reads.
type DeviceOptions struct {
	Cmdline string // default: /proc/cmdline
}

// OpenDevice finds the running slot and the partitions of the disk whose
// partition 1 carries the PARTUUID named on the kernel command line.
func OpenDevice(o DeviceOptions) (*Device, error) {
	cmdline := o.Cmdline
	if cmdline == "" {
		b, err := os.ReadFile("/proc/cmdline")
		if err != nil {
			return nil, err
		}
		cmdline = string(b)
	}
	guid, slot, err := ParseRoot(cmdline)
	if err != nil {
		return nil, err
	}
	d := &Device{Slot: slot, Perm: "/perm", Keys: RootEtc + "/keys", Reboot: firmwareReboot}
	disk, err := findDisk(guid)
	if err != nil {
		return nil, err
	}
	for n := 1; n <= 4; n++ {
		if d.Parts[n], err = partitionDev(disk, n); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat("/sys/firmware/efi"); err == nil {
		d.EFIVars = "/sys/firmware/efi/efivars"
	}
	return d, nil
}

var rootRE = regexp.MustCompile(`(?:^|\s)root=PARTUUID=([0-9a-fA-F-]{36})/PARTNROFF=([12])(?:\s|$)`)

// ParseRoot reads root=PARTUUID=<guid>/PARTNROFF=<1|2> from a kernel
// command line and returns the GUID (upper case) and the slot.
func ParseRoot(cmdline string) (guid, slot string, err error) {
	m := rootRE.FindStringSubmatch(cmdline)
	if m == nil {
		return "", "", fmt.Errorf("kernel command line has no root=PARTUUID=…/PARTNROFF=1|2")
	}
	return strings.ToUpper(m[1]), map[string]string{"1": "a", "2": "b"}[m[2]], nil
}

// findDisk returns the /sys/block name of the disk whose first GPT entry
// has the unique GUID guid.
func findDisk(guid string) (string, error) {
	disks, _ := filepath.Glob("/sys/block/*")
	for _, p := range disks {
		name := filepath.Base(p)
		if g, err := firstPartGUID("/dev/" + name); err == nil && g == guid {
			return name, nil
		}
	}
	return "", fmt.Errorf("no disk has a partition with PARTUUID %s", guid)
}

// firstPartGUID reads the unique GUID of GPT entry 1 (512-byte sectors).
func firstPartGUID(dev string) (string, error) {
	f, err := os.Open(dev)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var hdr [92]byte
	if _, err := f.ReadAt(hdr[:], 512); err != nil {
		return "", err
	}
	if string(hdr[:8]) != "EFI PART" {
		return "", errors.New("no GPT")
	}
	lba := binary.LittleEndian.Uint64(hdr[72:])
	var ent [128]byte
	if _, err := f.ReadAt(ent[:], int64(lba)*512); err != nil {
		return "", err
	}
	return FormatGUID(ent[16:32]), nil
}

// FormatGUID formats a GPT mixed-endian GUID.
func FormatGUID(b []byte) string {
	return fmt.Sprintf("%08X-%04X-%04X-%X-%X", binary.LittleEndian.Uint32(b[0:]),
		binary.LittleEndian.Uint16(b[4:]), binary.LittleEndian.Uint16(b[6:]), b[8:10], b[10:16])
}

// partitionDev finds partition n of disk through /sys.
func partitionDev(disk string, n int) (string, error) {
	parts, _ := filepath.Glob(filepath.Join("/sys/block", disk, disk+"*", "partition"))
	for _, p := range parts {
		b, err := os.ReadFile(p)
		if err == nil && strings.TrimSpace(string(b)) == fmt.Sprint(n) {
			return "/dev/" + filepath.Base(filepath.Dir(p)), nil
		}
	}
	return "", fmt.Errorf("disk %s has no partition %d", disk, n)
}

// withBoot runs fn with the boot file system mounted read-write.
func (d *Device) withBoot(fn func(dir string) error) error {
	if d.BootDir != "" {
		return fn(d.BootDir)
	}
	dir, err := os.MkdirTemp("/run", "facteur-boot")
	if err != nil {
		return err
	}
	defer os.Remove(dir)
	if err := unix.Mount(d.Parts[1], dir, "vfat", 0, ""); err != nil {
		return fmt.Errorf("mount boot partition: %w", err)
	}
	ferr := fn(dir)
	unix.Sync()
	if err := unix.Unmount(dir, 0); err != nil && ferr == nil {
		ferr = fmt.Errorf("unmount boot partition: %w", err)
	}
	return ferr
}

// loaderGUID is systemd-boot's EFI variable vendor GUID.
const loaderGUID = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

// setOneShot makes systemd-boot start entry once, at the next boot only.
func (d *Device) setOneShot(entry string) error {
	if d.EFIVars == "" {
		return errors.New("test boot needs UEFI variables, which this board does not have")
	}
	if err := mountEFIVars(d.EFIVars); err != nil {
		return err
	}
	path := filepath.Join(d.EFIVars, "LoaderEntryOneShot-"+loaderGUID)
	clearImmutable(path)
	// efivarfs: 4 bytes of attributes (non-volatile, boot service and
	// runtime access), then the value: UTF-16LE, NUL-terminated.
	b := []byte{7, 0, 0, 0}
	for _, u := range utf16.Encode([]rune(entry + "\x00")) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return os.WriteFile(path, b, 0o644)
}

func mountEFIVars(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err == nil && st.Type == unix.EFIVARFS_MAGIC {
		return nil
	}
	if err := unix.Mount("efivarfs", dir, "efivarfs", 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mount efivarfs: %w", err)
	}
	return nil
}

// clearImmutable lifts the immutable flag efivarfs puts on existing
// variables, so they can be rewritten.
func clearImmutable(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err == nil {
		unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags&^0x10))
	}
}

// firmwareReboot asks gokrazy's init (over its unix socket) to stop the
// services, unmount /perm and restart through the firmware, not kexec, so
// that systemd-boot picks the entry.
func firmwareReboot() error {
	c := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", "/run/gokrazy-http.sock")
		}}}
	resp, err := c.Post("http://gokrazy/reboot?kexec=off&wait_per_signal=15s", "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
