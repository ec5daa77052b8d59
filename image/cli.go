package image

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"facteur/appliance/update"
	"facteur/hardware"
)

// Main runs mkimage's subcommands.
func Main(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: mkimage build|bundle|keygen [flags]")
	}
	switch args[0] {
	case "build":
		return buildCmd(args[1:], stdout)
	case "bundle":
		return bundleCmd(args[1:], stdout)
	case "keygen":
		return keygenCmd(args[1:], stdout)
	}
	return fmt.Errorf("unknown command %q (want build, bundle or keygen)", args[0])
}

func buildCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	board := fs.String("board", "pc", "board: "+strings.Join(hardware.Names(), ", "))
	var o Options
	fs.StringVar(&o.Version, "version", "dev", "version shown to people")
	fs.Uint64Var(&o.Build, "build", 1, "build number (increases with every release)")
	fs.StringVar(&o.Channel, "channel", "stable", "update channel: stable or beta")
	fs.StringVar(&o.Seed, "seed", "", "seed of the partition GUIDs (default: random; same seed and inputs → same image)")
	fs.StringVar(&o.Keys, "keys", "", "directory of *.pub update keys to trust")
	fs.StringVar(&o.Feed, "feed", "", "update feed URL")
	fs.StringVar(&o.FeedInterval, "feed-interval", "", "update poll interval (default 6h)")
	fs.StringVar(&o.AutoInstall, "auto-install", "", "when offered updates install until the admin chooses: night (default), now or off")
	fs.StringVar(&o.HealthTimeout, "health-timeout", "", "health check limit after a test boot (default 5m)")
	serve := fs.String("serve-args", "", "extra arguments of facteur serve, comma-separated")
	fs.Uint64Var(&o.PermMiB, "perm", 512, "size of /perm in MiB")
	fs.StringVar(&o.Out, "o", "out", "output directory")
	zst := fs.Bool("zstd", true, "also write disk.img.zst")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := hardware.Lookup(*board)
	if err != nil {
		return err
	}
	o.Board, o.Log = b, stdout
	if *serve != "" {
		o.ServeArgs = strings.Split(*serve, ",")
	}
	if e := os.Getenv("SOURCE_DATE_EPOCH"); e != "" {
		if o.Epoch, err = strconv.ParseInt(e, 10, 64); err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH: %w", err)
		}
	}
	r, err := Build(context.Background(), o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d MiB (sparse), root %s, boot PARTUUID %s\n", r.Image, r.Size>>20, r.Root, r.BootGUID)
	if !*zst {
		return nil
	}
	z, err := Compress(r.Image)
	if err != nil {
		return err
	}
	st, _ := os.Stat(z)
	fmt.Fprintf(stdout, "%s: %.1f MB\n", z, float64(st.Size())/1e6)
	return nil
}

// Compress writes img.zst (single-threaded, so the bytes do not depend on
// the machine).
func Compress(img string) (string, error) {
	out, err := exec.Command("zstd", "-q", "-f", "-9", "-T1", img, "-o", img+".zst").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("zstd: %w\n%s", err, out)
	}
	return img + ".zst", nil
}

func keygenCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	kind := fs.String("kind", update.KindDev, "dev or release")
	dir := fs.String("o", "keys", "output directory: <id>.key (secret) and <id>.pub")
	if err := fs.Parse(args); err != nil {
		return err
	}
	priv, pub, err := update.NewKey(*kind)
	if err != nil {
		return err
	}
	if err := WriteKey(*dir, priv, pub); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s.key (keep secret) and %s.pub\n", priv.ID, filepath.Join(*dir, priv.ID), filepath.Join(*dir, pub.ID))
	return nil
}

// WriteKey stores a key pair as dir/<id>.key (mode 0600) and dir/<id>.pub.
func WriteKey(dir string, priv update.PrivateKey, pub update.PublicKey) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	pb, _ := json.MarshalIndent(pub, "", "  ")
	kb, _ := json.MarshalIndent(priv, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, pub.ID+".pub"), append(pb, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, priv.ID+".key"), append(kb, '\n'), 0o600)
}
