package image

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"facteur/hardware"
)

const mib = 1 << 20 / Sector // sectors per MiB

// Layout returns the four partitions of an image for board b.
func Layout(b hardware.Board, seed string, permMiB uint64) []Partition {
	start := b.BootStartLBA
	p := []Partition{
		{Type: hardware.TypeESP, Name: "boot", Start: start, Len: BootMiB * mib},
		{Type: b.RootTypeGUID, Name: "root-a", Len: RootMiB * mib},
		{Type: hardware.TypeLinuxData, Name: "root-b", Len: RootMiB * mib},
		{Type: hardware.TypeLinuxData, Name: "perm", Len: permMiB * mib},
	}
	for i := range p {
		if i > 0 {
			p[i].Start = p[i-1].Start + p[i-1].Len
		}
		p[i].GUID = GUIDFrom(seed, "part"+strconv.Itoa(i+1))
	}
	return p
}

// assemble writes the sparse disk image: partition tables, the boot FAT,
// root slot a, and an ext4 /perm formatted in place.
func assemble(ctx context.Context, o Options, r Result, bootFAT string) (int64, error) {
	parts := Layout(o.Board, o.Seed, o.PermMiB)
	last := parts[3]
	total := last.Start + last.Len + mib // room for the backup GPT
	head, tail, err := PartitionTable(total, r.DiskGUID, diskSignature(o.Seed), parts)
	if err != nil {
		return 0, err
	}
	os.Remove(r.Image)
	f, err := os.Create(r.Image)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := f.Truncate(int64(total * Sector)); err != nil {
		return 0, err
	}
	if _, err := f.WriteAt(head, 0); err != nil {
		return 0, err
	}
	if _, err := f.WriteAt(tail, int64((total-uint64(len(tail)/Sector))*Sector)); err != nil {
		return 0, err
	}
	for i, src := range []string{bootFAT, r.Root} {
		if err := copySparse(f, src, int64(parts[i].Start*Sector), int64(parts[i].Len*Sector)); err != nil {
			return 0, fmt.Errorf("partition %d: %w", i+1, err)
		}
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	return int64(total * Sector), mkPerm(ctx, o, r.Image, last)
}

// copySparse copies src into f at off, skipping blocks of zeros (the file
// is already zero there), and refuses sources larger than max.
func copySparse(f *os.File, src string, off, max int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if st, err := in.Stat(); err != nil || st.Size() > max {
		return fmt.Errorf("%s does not fit in %d bytes", src, max)
	}
	buf := make([]byte, 64<<10)
	zero := make([]byte, len(buf))
	for pos := off; ; {
		n, err := io.ReadFull(in, buf)
		if n > 0 && !bytes.Equal(buf[:n], zero[:n]) {
			if _, werr := f.WriteAt(buf[:n], pos); werr != nil {
				return werr
			}
		}
		pos += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// mkPerm formats partition 4 as ext4 inside the image file, with a UUID
// and hash seed from the build seed and the build's time stamp.
func mkPerm(ctx context.Context, o Options, img string, p Partition) error {
	uuid := GUIDFrom(o.Seed, "perm-fs")
	env := []string{"E2FSPROGS_FAKE_TIME=" + strconv.FormatInt(o.Epoch, 10), "MKE2FS_DEVICE_SECTSIZE=512"}
	return run(ctx, o, env, "mkfs.ext4", "-q", "-F", "-L", "perm", "-U", uuid, "-b", "4096",
		"-E", fmt.Sprintf("offset=%d,hash_seed=%s,lazy_itable_init=0,nodiscard", p.Start*Sector, GUIDFrom(o.Seed, "perm-hash")),
		img, strconv.FormatUint(p.Len*Sector/1024, 10)+"k")
}
