package image

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// programs are built into the root: path in the root → Go package.
var programs = []struct{ path, pkg string }{
	{"gokrazy/init", "facteur/appliance/cmd/init"},
	{"gokrazy/dhcp", "github.com/gokrazy/gokrazy/cmd/dhcp"},
	{"gokrazy/ntp", "github.com/gokrazy/gokrazy/cmd/ntp"},
	{"user/facteur", "facteur/appliance/cmd/facteur"},
}

// compile cross-compiles the programs (static, trimmed paths, no VCS
// stamp, so the bytes depend only on the sources and the version).
func compile(ctx context.Context, o Options, root string) error {
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + o.Board.GOARCH}
	for _, p := range programs {
		fmt.Fprintf(o.Log, "compile %s (%s)\n", p.pkg, o.Board.GOARCH)
		if err := run(ctx, o, env, "go", "build", "-trimpath", "-buildvcs=false",
			"-tags", "gokrazy,netgo,osusergo",
			"-ldflags", "-s -w -X facteur/appliance.Version="+o.Version,
			"-o", filepath.Join(root, p.path), p.pkg); err != nil {
			return err
		}
	}
	return nil
}

// stageRoot fills dir with the root file system's contents.
func stageRoot(ctx context.Context, o Options, dir, kernelDir string) error {
	for _, d := range []string{"bin", "dev", "etc/facteur/keys", "etc/ssl", "proc", "sys", "tmp", "perm", "lib", "run", "mnt", "usr/share"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := compile(ctx, o, dir); err != nil {
		return err
	}
	files := map[string]string{
		"etc/hostname":              "facteur\n",
		"etc/hosts":                 "127.0.0.1 localhost\n::1 localhost\n",
		"etc/facteur/firmware.json": string(firmwareJSON(o)),
		"etc/facteur/version":       o.Version + "\n",
		"etc/facteur/build":         strconv.FormatUint(o.Build, 10) + "\n",
	}
	if o.Feed != "" {
		files["etc/facteur/update-feed"] = o.Feed + "\n"
	}
	if o.FeedInterval != "" {
		files["etc/facteur/update-interval"] = o.FeedInterval + "\n"
	}
	if o.AutoInstall != "" {
		files["etc/facteur/update-auto"] = o.AutoInstall + "\n"
	}
	if o.HealthTimeout != "" {
		files["etc/facteur/health-timeout"] = o.HealthTimeout + "\n"
	}
	if len(o.ServeArgs) > 0 {
		files["etc/facteur/serve-args"] = strings.Join(o.ServeArgs, "\n") + "\n"
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	links := map[string]string{"var": "/perm/var", "etc/resolv.conf": "/tmp/resolv.conf"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return copyHostData(o, dir, kernelDir)
}

// copyHostData copies the CA bundle, the time zone data, the kernel's
// modules and the update keys.
func copyHostData(o Options, dir, kernelDir string) error {
	if err := copyFile("/etc/ssl/certs/ca-certificates.crt", filepath.Join(dir, "etc/ssl/ca-bundle.pem")); err != nil {
		return fmt.Errorf("CA certificates: %w", err)
	}
	if err := os.Symlink("ca-bundle.pem", filepath.Join(dir, "etc/ssl/cert.pem")); err != nil {
		return err
	}
	if err := copyTree("/usr/share/zoneinfo", filepath.Join(dir, "usr/share/zoneinfo")); err != nil {
		return fmt.Errorf("time zone data: %w", err)
	}
	if err := os.Symlink("/usr/share/zoneinfo/UTC", filepath.Join(dir, "etc/localtime")); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(kernelDir, "lib/modules")); err == nil {
		if err := copyTree(filepath.Join(kernelDir, "lib/modules"), filepath.Join(dir, "lib/modules")); err != nil {
			return err
		}
	}
	if o.Keys == "" {
		return nil
	}
	keys, _ := filepath.Glob(filepath.Join(o.Keys, "*.pub"))
	if len(keys) == 0 {
		return fmt.Errorf("no *.pub update keys in %s", o.Keys)
	}
	for _, k := range keys {
		if err := copyFile(k, filepath.Join(dir, "etc/facteur/keys", filepath.Base(k))); err != nil {
			return err
		}
	}
	return nil
}

// copyTree copies regular files and symbolic links (as they are).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case d.Type().IsRegular():
			return copyFile(p, target)
		}
		return nil
	})
}

// squash makes the root squashfs: zlib (the gokrazy kernels read no other
// compression), every file owned by root with the same time, no extended
// attributes; mksquashfs sorts directory entries itself.
func squash(ctx context.Context, o Options, dir, out string) error {
	os.Remove(out)
	t := strconv.FormatInt(o.Epoch, 10)
	fmt.Fprintf(o.Log, "mksquashfs %s\n", out)
	return run(ctx, o, nil, "mksquashfs", dir, out, "-comp", "gzip", "-all-root", "-no-xattrs",
		"-noappend", "-mkfs-time", t, "-all-time", t, "-quiet", "-no-progress", "-processors", "2")
}

func randomSeed() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
