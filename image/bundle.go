package image

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"facteur/appliance/update"
)

// BundleOptions describe one update bundle.
type BundleOptions struct {
	Manifest update.Manifest // product, board, version, build, channel, notes
	Root     string          // root.squashfs
	Kernel   string          // vmlinuz ("" = keep the running kernel)
	Key      update.PrivateKey
	Out      string // bundle file
}

// MakeBundle hashes the artifacts into the manifest, signs it and writes
// the bundle.
func MakeBundle(o BundleOptions) (update.Manifest, error) {
	m := o.Manifest
	m.Product = update.Product
	m.Artifacts = map[string]update.Artifact{}
	files := map[string]string{update.RootArtifact: o.Root}
	order := []string{update.RootArtifact}
	if o.Kernel != "" {
		files[update.KernelArtifact] = o.Kernel
		order = append(order, update.KernelArtifact)
	}
	for name, path := range files {
		a, err := update.HashFile(path)
		if err != nil {
			return m, err
		}
		m.Artifacts[name] = a
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	sig, err := o.Key.Sign(mb)
	if err != nil {
		return m, err
	}
	f, err := os.Create(o.Out)
	if err != nil {
		return m, err
	}
	if err := update.WriteBundle(f, mb, sig, files, order); err != nil {
		f.Close()
		return m, err
	}
	return m, f.Close()
}

// ReadKey reads a private key file written by WriteKey.
func ReadKey(path string) (update.PrivateKey, error) {
	var k update.PrivateKey
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &k)
	}
	if err != nil {
		return k, fmt.Errorf("key %s: %w", path, err)
	}
	return k, nil
}

func bundleCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bundle", flag.ContinueOnError)
	var o BundleOptions
	fs.StringVar(&o.Manifest.Board, "board", "pc", "board the bundle is for")
	fs.StringVar(&o.Manifest.Version, "version", "dev", "version")
	fs.Uint64Var(&o.Manifest.Build, "build", 1, "build number")
	fs.StringVar(&o.Manifest.Channel, "channel", "stable", "stable or beta")
	fs.StringVar(&o.Manifest.Notes, "notes", "", "release notes")
	in := fs.String("in", "out", "directory with root.squashfs and vmlinuz from mkimage build")
	key := fs.String("key", "", "signing key (<id>.key from mkimage keygen)")
	fs.StringVar(&o.Out, "o", "", "bundle file (default: <in>/facteur-<board>-<version>.bundle)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	k, err := ReadKey(*key)
	if err != nil {
		return err
	}
	o.Key = k
	o.Root = filepath.Join(*in, update.RootArtifact)
	o.Kernel = filepath.Join(*in, update.KernelArtifact)
	if o.Out == "" {
		o.Out = filepath.Join(*in, fmt.Sprintf("facteur-%s-%s.bundle", o.Manifest.Board, o.Manifest.Version))
	}
	m, err := MakeBundle(o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s build %d for %s, signed by %s\n", o.Out, m.Version, m.Build, m.Board, k.ID)
	return nil
}
