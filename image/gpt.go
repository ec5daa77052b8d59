package image

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"strings"
	"unicode/utf16"
)

// Sector is the logical sector size the layout assumes (gokrazy's rootdev
// reads GPTs in 512-byte sectors).
const Sector = 512

// Partition is one GPT entry, in sectors.
type Partition struct {
	Type, GUID string // "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX"
	Name       string
	Start, Len uint64 // in sectors
}

// GUIDFrom derives a random-looking version 4 GUID from a seed and a
// label: the same seed gives the same GUIDs, so builds are reproducible,
// and a fresh random seed per image gives every device its own.
func GUIDFrom(seed, label string) string {
	h := sha256.Sum256([]byte(seed + "\x00" + label))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	x := strings.ToUpper(hex.EncodeToString(h[:16]))
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// guidBytes encodes a GUID in GPT's mixed-endian byte order.
func guidBytes(s string) ([16]byte, error) {
	var b [16]byte
	raw, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(raw) != 16 {
		return b, fmt.Errorf("bad GUID %q", s)
	}
	binary.LittleEndian.PutUint32(b[0:], binary.BigEndian.Uint32(raw[0:]))
	binary.LittleEndian.PutUint16(b[4:], binary.BigEndian.Uint16(raw[4:]))
	binary.LittleEndian.PutUint16(b[6:], binary.BigEndian.Uint16(raw[6:]))
	copy(b[8:], raw[8:])
	return b, nil
}

const (
	gptEntries   = 128
	gptEntrySize = 128
	gptTableLBAs = gptEntries * gptEntrySize / Sector // 32
)

// PartitionTable returns the sectors to write at the start and at the end
// of a disk of total sectors: a hybrid MBR (entry 1: bootable FAT over
// partition 1, so a Raspberry Pi finds its firmware; entry 2: 0xEE
// protective), the primary GPT, and the backup GPT.
func PartitionTable(total uint64, diskGUID string, diskSig uint32, parts []Partition) (head, tail []byte, err error) {
	entries := make([]byte, gptEntries*gptEntrySize)
	for i, p := range parts {
		if err := putEntry(entries[i*gptEntrySize:], p); err != nil {
			return nil, nil, err
		}
	}
	dg, err := guidBytes(diskGUID)
	if err != nil {
		return nil, nil, err
	}
	primary := gptHeader(dg, entries, 1, total-1, 2, total)
	backup := gptHeader(dg, entries, total-1, 1, total-1-gptTableLBAs, total)
	head = make([]byte, (2+gptTableLBAs)*Sector)
	copy(head, hybridMBR(diskSig, parts[0]))
	copy(head[Sector:], primary)
	copy(head[2*Sector:], entries)
	tail = make([]byte, (gptTableLBAs+1)*Sector)
	copy(tail, entries)
	copy(tail[gptTableLBAs*Sector:], backup)
	return head, tail, nil
}

func putEntry(b []byte, p Partition) error {
	t, err := guidBytes(p.Type)
	if err != nil {
		return err
	}
	u, err := guidBytes(p.GUID)
	if err != nil {
		return err
	}
	copy(b[0:], t[:])
	copy(b[16:], u[:])
	binary.LittleEndian.PutUint64(b[32:], p.Start)
	binary.LittleEndian.PutUint64(b[40:], p.Start+p.Len-1)
	for i, c := range utf16.Encode([]rune(p.Name)) {
		if i < 36 {
			binary.LittleEndian.PutUint16(b[56+2*i:], c)
		}
	}
	return nil
}

func gptHeader(diskGUID [16]byte, entries []byte, cur, alt, entriesLBA, total uint64) []byte {
	h := make([]byte, Sector)
	copy(h, "EFI PART")
	binary.LittleEndian.PutUint32(h[8:], 0x00010000)
	binary.LittleEndian.PutUint32(h[12:], 92)
	binary.LittleEndian.PutUint64(h[24:], cur)
	binary.LittleEndian.PutUint64(h[32:], alt)
	binary.LittleEndian.PutUint64(h[40:], 2+gptTableLBAs)       // first usable
	binary.LittleEndian.PutUint64(h[48:], total-2-gptTableLBAs) // last usable
	copy(h[56:], diskGUID[:])
	binary.LittleEndian.PutUint64(h[72:], entriesLBA)
	binary.LittleEndian.PutUint32(h[80:], gptEntries)
	binary.LittleEndian.PutUint32(h[84:], gptEntrySize)
	binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(entries))
	binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
	return h
}

// hybridMBR is sector 0: the disk signature, a bootable FAT (0x0C) entry
// over the boot partition and a protective 0xEE entry before it.
func hybridMBR(diskSig uint32, boot Partition) []byte {
	m := make([]byte, Sector)
	binary.LittleEndian.PutUint32(m[440:], diskSig)
	entry := func(i int, status, typ byte, start, n uint64) {
		e := m[446+16*i:]
		e[0] = status
		copy(e[1:4], []byte{0xfe, 0xff, 0xff}) // CHS: use LBA
		e[4] = typ
		copy(e[5:8], []byte{0xfe, 0xff, 0xff})
		binary.LittleEndian.PutUint32(e[8:], uint32(start))
		binary.LittleEndian.PutUint32(e[12:], uint32(n))
	}
	entry(0, 0x80, 0x0c, boot.Start, boot.Len)
	entry(1, 0x00, 0xee, 1, boot.Start-1)
	m[510], m[511] = 0x55, 0xaa
	return m
}
