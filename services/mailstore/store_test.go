package mailstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var ctx = context.Background()

func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func mustAccount(t *testing.T, s *Store, addr string) *Account {
	t.Helper()
	_, domain, _ := splitAddress(addr)
	if err := s.AddDomain(ctx, domain); err != nil && !errors.Is(err, ErrExists) {
		t.Fatal(err)
	}
	a, err := s.AddAccount(ctx, addr, "password-"+addr)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func testMessage(subject, body string) string {
	return "From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nSubject: " + subject +
		"\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <" + subject + "@example.com>\r\n\r\n" + body + "\r\n"
}

func deliver(t *testing.T, s *Store, acct uint64, msg string) Placed {
	t.Helper()
	p, err := s.Deliver(ctx, time.Now(), []Target{{Account: acct}}, nil, strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return p[0]
}

func TestAccountsAndAuth(t *testing.T) {
	s, _ := openTest(t)
	if _, err := s.AddAccount(ctx, "alice@example.com", "password1"); err == nil {
		t.Fatal("AddAccount in a non-local domain: got no error")
	}
	a := mustAccount(t, s, "Alice@Example.com")
	if a.Address != "alice@example.com" {
		t.Errorf("address = %q, want lower case", a.Address)
	}
	if !strings.HasPrefix(a.PasswordHash, "$argon2id$") {
		t.Errorf("hash %q is not argon2id", a.PasswordHash)
	}
	if _, err := s.AddAccount(ctx, "alice@example.com", "password2"); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate account: got %v, want ErrExists", err)
	}
	if _, err := s.Authenticate(ctx, "alice@example.com", "password-Alice@Example.com"); err != nil {
		t.Errorf("good password: %v", err)
	}
	for _, tc := range []struct{ user, pw string }{{"alice@example.com", "wrong-password"}, {"nobody@example.com", "x"}} {
		if _, err := s.Authenticate(ctx, tc.user, tc.pw); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("Authenticate(%s, %s) = %v, want ErrAuthFailed", tc.user, tc.pw, err)
		}
	}
	boxes, err := s.Mailboxes(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range boxes {
		names = append(names, m.Name+m.SpecialUse)
	}
	want := []string{`Archive\Archive`, `Drafts\Drafts`, "INBOX", `Junk\Junk`, `Sent\Sent`, `Trash\Trash`}
	if !slices.Equal(names, want) {
		t.Errorf("default mailboxes = %v, want %v", names, want)
	}
	if err := s.SetPassword(ctx, a.Address, "new-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, a.Address, "password-Alice@Example.com"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("old password after change: got %v, want ErrAuthFailed", err)
	}
}

func TestResolve(t *testing.T) {
	s, _ := openTest(t)
	alice := mustAccount(t, s, "alice@example.com")
	bob := mustAccount(t, s, "bob@example.com")
	must(t, s.AddAlias(ctx, "team@example.com", []string{"alice@example.com", "bob@example.com", "carol@elsewhere.org"}))
	must(t, s.AddAlias(ctx, "info@example.com", []string{"team@example.com"}))
	for _, tc := range []struct {
		addr   string
		accts  []uint64
		remote []string
		err    error
	}{
		{"alice@example.com", []uint64{alice.ID}, nil, nil},
		{"ALICE@EXAMPLE.COM", []uint64{alice.ID}, nil, nil},
		{"alice+news@example.com", []uint64{alice.ID}, nil, nil},
		{"info@example.com", []uint64{alice.ID, bob.ID}, []string{"carol@elsewhere.org"}, nil},
		{"nobody@example.com", nil, nil, ErrUnknownUser},
		{"someone@elsewhere.org", nil, nil, ErrNotLocal},
	} {
		r, err := s.Resolve(ctx, tc.addr)
		if !errors.Is(err, tc.err) {
			t.Errorf("Resolve(%s) error = %v, want %v", tc.addr, err, tc.err)
			continue
		}
		if err == nil && (!slices.Equal(r.Accounts, tc.accts) || !slices.Equal(r.Remote, tc.remote)) {
			t.Errorf("Resolve(%s) = %v %v, want %v %v", tc.addr, r.Accounts, r.Remote, tc.accts, tc.remote)
		}
	}
	must(t, s.AddAlias(ctx, "@example.com", []string{"bob@example.com"}))
	if r, err := s.Resolve(ctx, "nobody@example.com"); err != nil || !slices.Equal(r.Accounts, []uint64{bob.ID}) {
		t.Errorf("catch-all: got %v, %v", r, err)
	}
	if ok, _ := s.Owns(ctx, alice, "team@example.com"); !ok {
		t.Error("alice may not send as team@ (an alias that includes her)")
	}
	if ok, _ := s.Owns(ctx, alice, "bob@example.com"); ok {
		t.Error("alice may send as bob@")
	}
	alice.SendAs = []string{"@other.example", "boss@example.com"}
	for addr, want := range map[string]bool{"x@other.example": true, "boss@example.com": true, "x@sub.other.example": false, "bob@example.com": false} {
		if ok, _ := s.Owns(ctx, alice, addr); ok != want {
			t.Errorf("with SendAs, Owns(%s) = %v", addr, ok)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDeliverSharesBody(t *testing.T) {
	s, _ := openTest(t)
	a := mustAccount(t, s, "alice@example.com")
	b := mustAccount(t, s, "bob@example.com")
	msg := testMessage("hello", "Hi both")
	placed, err := s.Deliver(ctx, time.Now(), []Target{{Account: a.ID}, {Account: b.ID}}, &Outbound{From: "x@example.com", To: []string{"z@elsewhere.org"}}, strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	ma, _ := s.Messages(ctx, placed[0].Mailbox, []uint32{placed[0].UID})
	mb, _ := s.Messages(ctx, placed[1].Mailbox, []uint32{placed[1].UID})
	if len(ma) != 1 || len(mb) != 1 || ma[0].Body != mb[0].Body {
		t.Fatalf("messages %v %v: want one shared body", ma, mb)
	}
	q, _ := s.Queue(ctx)
	if len(q) != 1 || q[0].Body != ma[0].Body || q[0].To[0] != "z@elsewhere.org" {
		t.Fatalf("queue = %+v, want one entry on the same body", q)
	}
	body, err := s.OpenBody(ma[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	got, _ := io.ReadAll(body.Reader())
	if string(got) != msg {
		t.Errorf("body = %q, want %q", got, msg)
	}
	if env := body.Info().Envelope; env == nil || env.Subject != "hello" {
		t.Errorf("envelope = %+v, want subject hello", env)
	}
	// Removing every reference deletes the body.
	s.StoreFlags(ctx, a.ID, placed[0].Mailbox, []uint32{placed[0].UID}, FlagsAdd, []string{FlagDeleted})
	s.Expunge(ctx, a.ID, placed[0].Mailbox, nil)
	s.Remove(ctx, b.ID, placed[1].Mailbox, []uint32{placed[1].UID})
	if b, err := s.OpenBody(ma[0].Body); err != nil {
		t.Fatalf("body gone while the queue still holds it: %v", err)
	} else {
		b.Close()
	}
	must(t, s.DeleteQueueEntry(ctx, q[0].ID))
	if _, err := s.OpenBody(ma[0].Body); !errors.Is(err, ErrNotFound) {
		t.Errorf("body after the last reference went: got %v, want ErrNotFound", err)
	}
}

func TestFlagsChangesExpunge(t *testing.T) {
	s, _ := openTest(t)
	a := mustAccount(t, s, "alice@example.com")
	p1 := deliver(t, s, a.ID, testMessage("one", "1"))
	p2 := deliver(t, s, a.ID, testMessage("two", "2"))
	inbox, _ := s.MailboxByName(ctx, a.ID, "inbox")
	if inbox.Messages != 2 || inbox.Unseen != 2 || inbox.UIDNext != 3 {
		t.Fatalf("INBOX = %+v, want 2 messages, 2 unseen, UIDNEXT 3", inbox)
	}
	since := inbox.HighestModSeq
	changed, err := s.StoreFlags(ctx, a.ID, inbox.ID, []uint32{p1.UID, p2.UID}, FlagsAdd, []string{`\seen`, "$Label1"})
	if err != nil || len(changed) != 2 || !slices.Equal(changed[0].Flags, []string{"$Label1", `\Seen`}) {
		t.Fatalf("StoreFlags = %+v, %v", changed, err)
	}
	if c, _ := s.StoreFlags(ctx, a.ID, inbox.ID, []uint32{p1.UID}, FlagsAdd, []string{`\Seen`}); len(c) != 0 {
		t.Errorf("setting a flag already set changed %d messages, want 0", len(c))
	}
	s.StoreFlags(ctx, a.ID, inbox.ID, []uint32{p1.UID}, FlagsAdd, []string{FlagDeleted})
	gone, err := s.Expunge(ctx, a.ID, inbox.ID, nil)
	if err != nil || !slices.Equal(gone, []uint32{p1.UID}) {
		t.Fatalf("Expunge = %v, %v; want [%d]", gone, err, p1.UID)
	}
	changes, _ := s.Changes(ctx, inbox.ID, since)
	var got []string
	for _, c := range changes {
		got = append(got, fmt.Sprintf("%d:%v", c.UID, c.Expunged))
	}
	if want := []string{"2:false", "1:true"}; !slices.Equal(got, want) {
		t.Errorf("changes = %v, want %v", got, want)
	}
	inbox, _ = s.MailboxByName(ctx, a.ID, "INBOX")
	if inbox.Messages != 1 || inbox.Unseen != 0 || inbox.Deleted != 0 {
		t.Errorf("INBOX after = %+v, want 1 message, 0 unseen", inbox)
	}
}

func TestCopyMoveRename(t *testing.T) {
	s, _ := openTest(t)
	a := mustAccount(t, s, "alice@example.com")
	p := deliver(t, s, a.ID, testMessage("one", "1"))
	archive, _ := s.MailboxByName(ctx, a.ID, "Archive")
	res, err := s.Move(ctx, a.ID, p.Mailbox, []uint32{p.UID}, archive.ID)
	if err != nil || len(res.Pairs) != 1 || res.UIDValidity != archive.UIDValidity {
		t.Fatalf("Move = %+v, %v", res, err)
	}
	if uids, _ := s.UIDs(ctx, p.Mailbox); len(uids) != 0 {
		t.Errorf("INBOX after move has %v", uids)
	}
	must(t, s.CreateMailbox(ctx, a.ID, "Projects/2026/Q4", ""))
	if _, err := s.MailboxByName(ctx, a.ID, "Projects/2026"); err != nil {
		t.Errorf("parent not created: %v", err)
	}
	if _, err := s.Copy(ctx, a.ID, archive.ID, []uint32{res.Pairs[0].Dst}, mustBox(t, s, a.ID, "Projects/2026/Q4")); err != nil {
		t.Fatal(err)
	}
	must(t, s.RenameMailbox(ctx, a.ID, "Projects", "Work"))
	q4, err := s.MailboxByName(ctx, a.ID, "Work/2026/Q4")
	if err != nil || q4.Messages != 1 {
		t.Fatalf("renamed child = %+v, %v", q4, err)
	}
	if err := s.DeleteMailbox(ctx, a.ID, "Work"); !errors.Is(err, ErrMailboxInUse) {
		t.Errorf("delete with children: got %v, want ErrMailboxInUse", err)
	}
	must(t, s.DeleteMailbox(ctx, a.ID, "Work/2026/Q4"))
	if _, err := s.MailboxByName(ctx, a.ID, "Work/2026/Q4"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted mailbox still there: %v", err)
	}
	if err := s.DeleteMailbox(ctx, a.ID, "INBOX"); err == nil {
		t.Error("deleting INBOX: got no error")
	}
}

func mustBox(t *testing.T, s *Store, acct uint64, name string) uint64 {
	t.Helper()
	m, err := s.MailboxByName(ctx, acct, name)
	if err != nil {
		t.Fatal(err)
	}
	return m.ID
}

// TestLargeBodyBoundedMemory stores and reads a 50 MB message and checks
// that neither needs memory near its size.
func TestLargeBodyBoundedMemory(t *testing.T) {
	s, _ := openTest(t)
	a := mustAccount(t, s, "alice@example.com")
	const size = 50 << 20
	header := "From: a@example.com\r\nSubject: big\r\nContent-Type: application/octet-stream\r\n\r\n"
	src := io.MultiReader(strings.NewReader(header), io.LimitReader(lineSource{}, size))
	peak := measurePeak(func() {
		if _, err := s.Deliver(ctx, time.Now(), []Target{{Account: a.ID}}, nil, src); err != nil {
			t.Error(err)
		}
	})
	if peak > 24<<20 {
		t.Errorf("delivering 50 MB raised the heap by %d MB, want well under the message size", peak>>20)
	}
	inbox, _ := s.MailboxByName(ctx, a.ID, "INBOX")
	msgs, _ := s.Messages(ctx, inbox.ID, []uint32{1})
	body, err := s.OpenBody(msgs[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	var n int64
	peak = measurePeak(func() { n, _ = io.Copy(io.Discard, body.Reader()) })
	if n != int64(len(header))+size || peak > 8<<20 {
		t.Errorf("read %d bytes with %d MB of heap growth; want %d bytes and a few chunks of memory", n, peak>>20, len(header)+size)
	}
}

// lineSource is an endless stream of 100-byte CRLF lines.
type lineSource struct{}

func (lineSource) Read(p []byte) (int, error) {
	line := strings.Repeat("x", 98) + "\r\n"
	for i := range p {
		p[i] = line[i%100]
	}
	return len(p), nil
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := mustAccount(t, s, "alice@example.com")
	deliver(t, s, a.ID, testMessage("one", "persisted"))
	s.Close()
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inbox, err := s.MailboxByName(ctx, a.ID, "INBOX")
	if err != nil || inbox.Messages != 1 || inbox.UIDNext != 2 {
		t.Fatalf("after reopen INBOX = %+v, %v", inbox, err)
	}
	p := deliver(t, s, a.ID, testMessage("two", "after"))
	if p.UID != 2 {
		t.Errorf("UID after reopen = %d, want 2", p.UID)
	}
}

// TestFailedDeliveryStoresNothing: a body whose reader fails half way
// (a client that drops during DATA) leaves no message and no chunks.
func TestFailedDeliveryStoresNothing(t *testing.T) {
	s, dir := openTest(t)
	a := mustAccount(t, s, "alice@example.com")
	r := io.MultiReader(strings.NewReader("Subject: x\r\n\r\n"), io.LimitReader(lineSource{}, 3<<20), errReader{})
	if _, err := s.Deliver(ctx, time.Now(), []Target{{Account: a.ID}}, nil, r); err == nil {
		t.Fatal("Deliver with a failing reader: got no error")
	}
	inbox, _ := s.MailboxByName(ctx, a.ID, "INBOX")
	if inbox.Messages != 0 {
		t.Errorf("INBOX has %d messages, want 0", inbox.Messages)
	}
	if n := countPrefix(t, s, tChunk); n != 0 {
		t.Errorf("%d chunks left behind", n)
	}
	_ = dir
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func countPrefix(t *testing.T, s *Store, prefix string) int {
	n := 0
	s.scanJSON([]byte(prefix), func([]byte) error { n++; return nil })
	return n
}

// TestGroupCommit: many concurrent deliveries to one mailbox all land,
// with distinct ascending UIDs.
func TestGroupCommit(t *testing.T) {
	s, _ := openTest(t)
	a := mustAccount(t, s, "alice@example.com")
	var wg sync.WaitGroup
	const n = 200
	uids := make(chan uint32, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := s.Deliver(ctx, time.Now(), []Target{{Account: a.ID}}, nil, bytes.NewReader([]byte(testMessage(fmt.Sprint(i), "x"))))
			if err != nil {
				t.Error(err)
				return
			}
			uids <- p[0].UID
		}()
	}
	wg.Wait()
	close(uids)
	seen := map[uint32]bool{}
	for u := range uids {
		if seen[u] {
			t.Errorf("UID %d given twice", u)
		}
		seen[u] = true
	}
	inbox, _ := s.MailboxByName(ctx, a.ID, "INBOX")
	if len(seen) != n || inbox.Messages != n || inbox.UIDNext != n+1 {
		t.Errorf("got %d UIDs, INBOX %+v; want %d", len(seen), inbox, n)
	}
}
