package image

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"facteur/appliance/update"
	"facteur/hardware"
)

// Layout sizes, in MiB (gokrazy's contract).
const (
	BootMiB = 100
	RootMiB = 500
)

// Options describe one image build.
type Options struct {
	Board   hardware.Board
	Version string // shown to people, e.g. "1.2.0"
	Build   uint64 // increases with every release
	Channel string // "stable" (default) or "beta"
	// Seed makes the partition GUIDs and file system ids; the same seed
	// and inputs give the same image bytes. Empty: a random seed.
	Seed string
	// Epoch is the time stamp of every file (SOURCE_DATE_EPOCH).
	Epoch int64
	// Keys is a directory of *.pub update keys baked into the image.
	Keys string
	// Feed is the update feed URL baked into the image ("" = none).
	Feed string
	// FeedInterval overrides the poll interval (e.g. "10s" in tests).
	FeedInterval string
	// HealthTimeout bounds the health check after a test boot (e.g.
	// "60s"; default 5m).
	HealthTimeout string
	// AutoInstall is when the box installs what the feed offers until the
	// admin chooses: "night" (default), "now" or "off".
	AutoInstall string
	// ServeArgs are extra arguments of "facteur serve".
	ServeArgs []string
	// PermMiB is the size of the pre-formatted /perm (default 512).
	PermMiB uint64
	// Out is the output directory: disk.img, root.squashfs, vmlinuz.
	Out string
	// Work holds intermediate files (default: a temporary directory).
	Work string
	// Log receives progress lines (nil: discarded).
	Log io.Writer
}

// Result names what Build wrote.
type Result struct {
	Image    string // sparse raw disk image
	Root     string // root.squashfs, the bundle artifact
	Kernel   string // the kernel, the bundle artifact
	DiskGUID string
	BootGUID string // PARTUUID of partition 1, named on the command line
	Size     int64  // logical size of Image
}

func (o *Options) defaults() error {
	if o.Board.Name == "" {
		return errors.New("no board")
	}
	if o.Channel == "" {
		o.Channel = "stable"
	}
	if o.PermMiB == 0 {
		o.PermMiB = 512
	}
	if o.Seed == "" {
		o.Seed = randomSeed()
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return os.MkdirAll(o.Out, 0o755)
}

// Build compiles the programs and writes the image.
func Build(ctx context.Context, o Options) (Result, error) {
	if err := o.defaults(); err != nil {
		return Result{}, err
	}
	work := o.Work
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "mkimage"); err != nil {
			return Result{}, err
		}
		defer os.RemoveAll(work)
	}
	var r Result
	r.DiskGUID = GUIDFrom(o.Seed, "disk")
	r.BootGUID = GUIDFrom(o.Seed, "part1")
	kdir, err := moduleDir(ctx, o.Board.KernelModule)
	if err != nil {
		return r, err
	}
	root := filepath.Join(work, "root")
	if err := stageRoot(ctx, o, root, kdir); err != nil {
		return r, err
	}
	r.Root = filepath.Join(o.Out, "root.squashfs")
	if err := squash(ctx, o, root, r.Root); err != nil {
		return r, err
	}
	r.Kernel = filepath.Join(o.Out, "vmlinuz")
	if err := copyFile(filepath.Join(kdir, "vmlinuz"), r.Kernel); err != nil {
		return r, err
	}
	boot := filepath.Join(work, "boot.fat")
	if err := makeBoot(ctx, o, kdir, r.BootGUID, filepath.Join(work, "bootfiles"), boot); err != nil {
		return r, err
	}
	r.Image = filepath.Join(o.Out, "disk.img")
	r.Size, err = assemble(ctx, o, r, boot)
	return r, err
}

// moduleDir finds a Go module's directory in the module cache.
func moduleDir(ctx context.Context, mod string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", mod).Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w", mod, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("module %s is not downloaded (go mod download %s)", mod, mod)
	}
	return dir, nil
}

// kernelCmdline is the command line of slot a.
func kernelCmdline(b hardware.Board, bootGUID string) string {
	return strings.Join(strings.Fields(fmt.Sprintf(
		"console=tty1 console=%s root=PARTUUID=%s/PARTNROFF=1 ro init=/gokrazy/init panic=10 oops=panic %s",
		b.Console, strings.ToLower(bootGUID), b.CmdlineExtra)), " ")
}

func firmwareJSON(o Options) []byte {
	b, _ := json.MarshalIndent(update.Firmware{
		Product: update.Product, Board: o.Board.Name, Version: o.Version, Build: o.Build, Channel: o.Channel,
	}, "", "  ")
	return append(b, '\n')
}

func run(ctx context.Context, o Options, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	// SOURCE_DATE_EPOCH is passed only where wanted: mksquashfs refuses it
	// together with its own time options.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SOURCE_DATE_EPOCH=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func epochTime(o Options) time.Time { return time.Unix(o.Epoch, 0) }

func diskSignature(seed string) uint32 {
	g, _ := guidBytes(GUIDFrom(seed, "mbr"))
	return binary.LittleEndian.Uint32(g[:])
}
