package mailstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// schemaVersion is the version of the key layout described in the package
// documentation. Changes are additive until an update is committed.
const schemaVersion = "1"

// Errors returned by the store. Callers map them to protocol replies.
var (
	ErrNotFound      = errors.New("not found")
	ErrExists        = errors.New("already exists")
	ErrAuthFailed    = errors.New("authentication failed")
	ErrInvalid       = errors.New("invalid argument")
	ErrQuota         = errors.New("quota exceeded")
	ErrClosed        = errors.New("mailstore closed")
	ErrMailboxInUse  = errors.New("mailbox cannot be deleted")
	ErrTooManyLevels = errors.New("alias expansion too deep")
)

// Options tunes the store. The zero value suits a box with 1 GB of memory.
type Options struct {
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MemTableSize is Badger's memtable size; default 8 MiB.
	MemTableSize int64
	// BlockCacheSize is Badger's block cache; default 8 MiB.
	BlockCacheSize int64
	// ValueLogFileSize caps each value-log file; default 128 MiB.
	ValueLogFileSize int64
	// NoSync turns off fsync on commit. Only for benchmarks that want to
	// measure what durability costs; never in the appliance.
	NoSync bool
}

// Store is the mail store. It is safe for concurrent use. All writes go
// through one writer goroutine that batches concurrent requests into one
// Badger transaction and one fsync (group commit); reads use Badger's
// snapshot transactions directly.
type Store struct {
	db   *badger.DB
	log  *slog.Logger
	now  func() time.Time
	feed *Feed

	ops     chan *op
	stop    chan struct{}
	stopped chan struct{}

	// seqMu guards seqs.
	seqMu sync.Mutex
	seqs  map[string]*badger.Sequence

	auth authCache
	kdf  *kdfGate
}

// Open opens (creating if needed) the store in dir.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open mailstore: %w", err)
	}
	db, err := badger.Open(badgerOptions(filepath.Clean(dir), opts))
	if err != nil {
		return nil, fmt.Errorf("open mailstore: %w", err)
	}
	s := &Store{
		db:      db,
		log:     opts.Logger,
		now:     opts.Now,
		feed:    newFeed(),
		ops:     make(chan *op, 256),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
		seqs:    map[string]*badger.Sequence{},
		kdf:     newKDFGate(2),
	}
	if err := s.checkVersion(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.dropPendingBodies(); err != nil {
		db.Close()
		return nil, err
	}
	go s.writer()
	if err := s.resumePurges(context.Background()); err != nil {
		s.Close()
		return nil, fmt.Errorf("open mailstore: %w", err)
	}
	return s, nil
}

func badgerOptions(dir string, opts Options) badger.Options {
	o := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{opts.Logger}).
		WithSyncWrites(!opts.NoSync).
		WithDetectConflicts(false). // one writer goroutine: no conflicts
		WithMemTableSize(orDefault(opts.MemTableSize, 8<<20)).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithBaseTableSize(2 << 20).
		WithBaseLevelSize(8 << 20).
		WithBlockCacheSize(orDefault(opts.BlockCacheSize, 8<<20)).
		WithIndexCacheSize(4 << 20).
		WithValueLogFileSize(orDefault(opts.ValueLogFileSize, 128<<20)).
		WithValueThreshold(4 << 10). // records inline in the LSM tree, body chunks in the value log
		WithNumCompactors(2).
		WithNumGoroutines(2).
		WithCompression(options.None). // bodies are mostly compressed already
		WithMetricsEnabled(false)
	return o
}

func orDefault(v, def int64) int64 {
	if v > 0 {
		return v
	}
	return def
}

func (s *Store) checkVersion() error {
	return s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(tVersion))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set([]byte(tVersion), []byte(schemaVersion))
		}
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		v, _ := item.ValueCopy(nil)
		if string(v) != schemaVersion {
			return fmt.Errorf("open mailstore: schema version %q, this program knows %q", v, schemaVersion)
		}
		return nil
	})
}

// Close stops the writer and closes the database. Requests in flight
// finish first.
func (s *Store) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	<-s.stopped
	var errs []error
	s.seqMu.Lock()
	for _, seq := range s.seqs {
		errs = append(errs, seq.Release())
	}
	s.seqMu.Unlock()
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// Feed returns the change feed of the store.
func (s *Store) Feed() *Feed { return s.feed }

// nextID returns the next value of the named sequence. IDs are unique but
// may have gaps after a restart.
func (s *Store) nextID(name string) (uint64, error) {
	s.seqMu.Lock()
	seq, ok := s.seqs[name]
	if !ok {
		var err error
		seq, err = s.db.GetSequence([]byte(tSeq+name), 100)
		if err != nil {
			s.seqMu.Unlock()
			return 0, fmt.Errorf("sequence %s: %w", name, err)
		}
		s.seqs[name] = seq
	}
	s.seqMu.Unlock()
	for {
		id, err := seq.Next()
		if err != nil {
			return 0, fmt.Errorf("sequence %s: %w", name, err)
		}
		if id != 0 { // 0 means "none" everywhere
			return id, nil
		}
	}
}

// view runs fn in a read-only snapshot.
func (s *Store) view(fn func(txn *badger.Txn) error) error {
	return s.db.View(fn)
}

type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Infof(f string, a ...any)  {}
func (b badgerLogger) Debugf(f string, a ...any) {}
