package mailstore

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkBodyStorage compares the two ways to keep bodies that the
// design allowed, under the same concurrent load (8 writers) and the same
// durability (fsync before returning):
//
//   - chunks: this package's way, chunks in Badger's value log, committed
//     with the message records by the group-committing writer;
//   - files: a content-addressed file per body (write, fsync, rename, fsync
//     the directory), then the records in Badger.
//
// Run with: go test -run '^$' -bench BodyStorage ./services/mailstore/
// The decision and the figures are in the package doc and bench/README.md.
func BenchmarkBodyStorage(b *testing.B) {
	for _, size := range []int{10 << 10, 1 << 20} {
		msg := testMessage("bench", strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n", size/64))
		b.Run(fmt.Sprintf("chunks/%dKiB", size>>10), func(b *testing.B) { benchChunks(b, msg) })
		b.Run(fmt.Sprintf("files/%dKiB", size>>10), func(b *testing.B) { benchFiles(b, msg) })
	}
}

func benchStore(b *testing.B) (*Store, uint64) {
	s, err := Open(b.TempDir(), Options{NoSync: os.Getenv("NOSYNC") != ""})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	s.AddDomain(ctx, "example.com")
	a, err := s.AddAccount(ctx, "alice@example.com", "password-1")
	if err != nil {
		b.Fatal(err)
	}
	return s, a.ID
}

func benchChunks(b *testing.B, msg string) {
	s, acct := benchStore(b)
	b.SetBytes(int64(len(msg)))
	b.SetParallelism(8 / max(1, runtimeProcs()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Deliver(ctx, time.Now(), []Target{{Account: acct}}, nil, strings.NewReader(msg)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchFiles(b *testing.B, msg string) {
	s, acct := benchStore(b)
	dir := b.TempDir()
	d, err := os.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	b.SetBytes(int64(len(msg)))
	b.SetParallelism(8 / max(1, runtimeProcs()))
	b.ResetTimer()
	var seq atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := fmt.Sprintf("%s%d", msg, seq.Add(1)) // distinct content, distinct file
			sum := sha256.Sum256([]byte(body))
			name := filepath.Join(dir, hex.EncodeToString(sum[:]))
			if err := writeSynced(name, body); err != nil {
				b.Error(err)
				return
			}
			if err := d.Sync(); err != nil {
				b.Error(err)
				return
			}
			// The records, as Deliver writes them, minus the chunks.
			err := s.do(func(bt *batch) error {
				_, err := s.addMessage(bt, Target{Account: acct}, 0, int64(len(body)), time.Now())
				bt.set(blobKey(name), []byte(name))
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func writeSynced(name, body string) error {
	f, err := os.Create(name + ".tmp")
	if err != nil {
		return err
	}
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(name+".tmp", name)
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
