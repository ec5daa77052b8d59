package image

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"facteur/appliance/update"
	"facteur/hardware"
)

// systemdBoot is Debian's systemd-boot (package systemd-boot-efi).
const systemdBoot = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"

// makeBoot stages the boot partition's files in dir and writes them into
// a FAT image at out.
func makeBoot(ctx context.Context, o Options, kernelDir, bootGUID, dir, out string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(kernelDir, "vmlinuz"), filepath.Join(dir, update.KernelName("a"))); err != nil {
		return err
	}
	cmdline := kernelCmdline(o.Board, bootGUID)
	var err error
	switch o.Board.Boot {
	case hardware.BootUEFI:
		err = stageUEFI(o, dir, cmdline)
	case hardware.BootRPi:
		err = stageRPi(ctx, o, kernelDir, dir, cmdline)
	default:
		err = fmt.Errorf("board %s: unknown boot method %q", o.Board.Name, o.Board.Boot)
	}
	if err != nil {
		return err
	}
	return writeFAT(ctx, o, dir, out)
}

// EntryA is the systemd-boot entry of slot a.
func EntryA(version, cmdline string) string {
	return fmt.Sprintf("title Facteur %s (slot a)\nlinux /%s\noptions %s\n", version, update.KernelName("a"), cmdline)
}

func stageUEFI(o Options, dir, cmdline string) error {
	efi := "BOOTX64.EFI"
	if o.Board.GOARCH != "amd64" {
		// Debian's amd64 archive has no arm64 systemd-boot; qemu-arm64 is
		// booted with the kernel given to QEMU directly.
		efi = ""
	}
	files := map[string]string{
		"loader/loader.conf":                      update.LoaderConf("a"),
		"loader/entries/" + update.EntryName("a"): EntryA(o.Version, cmdline),
		"cmdline-a.txt":                           cmdline + "\n",
	}
	if err := writeFiles(dir, files); err != nil {
		return err
	}
	if efi == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "EFI/BOOT"), 0o755); err != nil {
		return err
	}
	if err := copyFile(systemdBoot, filepath.Join(dir, "EFI/BOOT", efi)); err != nil {
		return fmt.Errorf("systemd-boot (Debian package systemd-boot-efi): %w", err)
	}
	return nil
}

// stageRPi writes the Raspberry Pi firmware, device trees, config.txt and
// the slot a command line. A test boot of slot b writes tryboot.txt
// (kernel=vmlinuz-b, cmdline=cmdline-b.txt).
func stageRPi(ctx context.Context, o Options, kernelDir, dir, cmdline string) error {
	if err := copyGlobs(kernelDir, dir, o.Board.KernelGlobs); err != nil {
		return err
	}
	if o.Board.FirmwareModule != "" {
		fw, err := moduleDir(ctx, o.Board.FirmwareModule)
		if err != nil {
			return err
		}
		if err := copyGlobs(fw, dir, o.Board.FirmwareGlobs); err != nil {
			return err
		}
	}
	config := "# Facteur " + o.Version + "\narm_64bit=1\nenable_uart=1\nkernel=" + update.KernelName("a") + "\ncmdline=cmdline-a.txt\n"
	return writeFiles(dir, map[string]string{"config.txt": config, "cmdline-a.txt": cmdline + "\n"})
}

func copyGlobs(src, dst string, globs []string) error {
	for _, g := range globs {
		matches, err := filepath.Glob(filepath.Join(src, g))
		if err != nil {
			return err
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(src, m)
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
				return err
			}
			if err := copyFile(m, filepath.Join(dst, rel)); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeFiles(dir string, files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeFAT formats a FAT16 image of BootMiB and copies dir into it with
// mtools, in sorted order with fixed times (SOURCE_DATE_EPOCH) and a
// volume serial from the seed.
func writeFAT(ctx context.Context, o Options, dir, out string) error {
	os.Remove(out)
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := f.Truncate(BootMiB << 20); err != nil {
		f.Close()
		return err
	}
	f.Close()
	env := []string{"SOURCE_DATE_EPOCH=" + strconv.FormatInt(o.Epoch, 10), "MTOOLS_SKIP_CHECK=1"}
	serial := fmt.Sprintf("%08x", diskSignature(o.Seed+"fat"))
	if err := run(ctx, o, env, "mformat", "-i", out, "-F", "-v", "FACTEUR", "-N", serial, "::"); err != nil {
		return err
	}
	var paths []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != dir {
			paths = append(paths, p)
		}
		return err
	})
	sort.Strings(paths)
	for _, p := range paths {
		rel, _ := filepath.Rel(dir, p)
		target := "::/" + filepath.ToSlash(rel)
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.IsDir() {
			err = run(ctx, o, env, "mmd", "-i", out, target)
		} else {
			os.Chtimes(p, epochTime(o), epochTime(o))
			err = run(ctx, o, env, "mcopy", "-m", "-i", out, p, target)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
