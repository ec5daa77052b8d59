package imapd

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"facteur/services/mailstore"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// idler is a go-imap client IDLEing on a mailbox; what the server sends
// meanwhile arrives on events as "EXISTS n", "EXPUNGE n" or
// "FETCH n FLAGS (...)".
type idler struct {
	c      *imapclient.Client
	idle   *imapclient.IdleCommand
	events chan string
}

func newIdler(t *testing.T, e *env, user, box string) *idler {
	t.Helper()
	events := make(chan string, 100)
	h := &imapclient.UnilateralDataHandler{
		Expunge: func(seq uint32) { events <- fmt.Sprintf("EXPUNGE %d", seq) },
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				events <- fmt.Sprintf("EXISTS %d", *d.NumMessages)
			}
		},
		Fetch: func(msg *imapclient.FetchMessageData) {
			buf, err := msg.Collect()
			if err != nil {
				events <- "FETCH error " + err.Error()
				return
			}
			events <- fmt.Sprintf("FETCH %d FLAGS %v", buf.SeqNum, buf.Flags)
		},
	}
	c, err := imapclient.DialTLS(e.tlsAddr, &imapclient.Options{TLSConfig: e.client, UnilateralDataHandler: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	if _, err := c.Select(box, nil).Wait(); err != nil {
		t.Fatalf("select: %v", err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatalf("IDLE: %v", err)
	}
	return &idler{c: c, idle: idle, events: events}
}

// expect waits for want on the events, skipping others.
func (i *idler) expect(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(wait)
	var seen []string
	for {
		select {
		case ev := <-i.events:
			if ev == want {
				return
			}
			seen = append(seen, ev)
		case <-timeout:
			t.Fatalf("IDLE: got %q within %v, want %q", seen, wait, want)
		}
	}
}

// stop ends IDLE and logs out.
func (i *idler) stop(t *testing.T) {
	t.Helper()
	if err := i.idle.Close(); err != nil {
		t.Errorf("DONE: %v", err)
	}
	if err := i.idle.Wait(); err != nil {
		t.Errorf("IDLE: %v", err)
	}
	if err := i.c.Logout().Wait(); err != nil {
		t.Errorf("LOGOUT: %v", err)
	}
}

func TestIdleSeesDelivery(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, alice, msgPlain)
	i := newIdler(t, e, alice, "INBOX")
	e.deliver(t, alice, msgNested)
	i.expect(t, "EXISTS 2")
	e.deliver(t, alice, msgMultipart)
	i.expect(t, "EXISTS 3")
	i.stop(t)
}

func TestIdleSeesOtherSession(t *testing.T) {
	e := newEnv(t)
	for n := range 4 {
		e.deliver(t, alice, plainMsg(fmt.Sprint(n), "x"))
	}
	i := newIdler(t, e, alice, "INBOX")
	b := e.selected(t, alice, "INBOX")

	b.ok(`STORE 2 +FLAGS (\Flagged)`)
	i.expect(t, `FETCH 2 FLAGS [\Flagged]`)

	b.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	i.expect(t, `FETCH 1 FLAGS [\Deleted]`)
	b.ok("EXPUNGE")
	i.expect(t, "EXPUNGE 1")

	b.appendMsg("INBOX", `(\Seen)`, msgPlain)
	i.expect(t, "EXISTS 4")

	b.ok("MOVE 1 Archive") // UID 2, the first message now
	i.expect(t, "EXPUNGE 1")
	i.stop(t)

	// After IDLE the client's numbers still agree with the server's.
	c := e.selected(t, alice, "INBOX")
	if got := fetched(c.ok("FETCH 1:* (UID)")); !slices.Equal(got, []string{"1:3", "2:4", "3:5"}) {
		t.Errorf("FETCH after IDLE: got %q, want 1:3 2:4 3:5", got)
	}
}

func TestIdleOnOtherMailboxIsQuiet(t *testing.T) {
	e := newEnv(t)
	i := newIdler(t, e, alice, "Archive")
	e.deliver(t, alice, msgPlain) // to INBOX
	b := e.login(t, alice)
	b.appendMsg("Archive", "", msgNested)
	i.expect(t, "EXISTS 1")
	select {
	case ev := <-i.events:
		t.Errorf("IDLE on Archive: got %q, want nothing about INBOX", ev)
	default:
	}
	i.stop(t)
}

func TestIdleRaw(t *testing.T) {
	e := newEnv(t)
	c := e.login(t, alice)
	// IDLE in the authenticated state is allowed and quiet.
	c.send("a1 IDLE")
	if got := c.readLine(); !strings.HasPrefix(got, "+ ") {
		t.Fatalf("IDLE: got %q, want +", got)
	}
	c.send("DONE")
	if r := c.readReply("a1"); r.status != "OK" || len(r.lines) != 0 {
		t.Errorf("DONE: got %q %s %s, want a bare OK", r.lines, r.status, r.text)
	}
	// Something else than DONE ends IDLE with BAD; the session goes on.
	c.ok("SELECT INBOX")
	c.send("a2 IDLE")
	c.readLine()
	c.send("NOT DONE")
	if r := c.readReply("a2"); r.status != "BAD" {
		t.Errorf("IDLE ended by garbage: got %s %s, want BAD", r.status, r.text)
	}
	e.deliver(t, alice, msgPlain)
	mustHave(t, "NOOP", c.ok("NOOP"), "* 1 EXISTS")
	c.ok(`STORE 1 +FLAGS (\Seen)`)
}

func TestIdleHangUp(t *testing.T) {
	// The client goes away during IDLE while deliveries keep coming: the
	// session must end cleanly (the race detector watches the IDLE
	// goroutine against the connection's).
	e := newEnv(t)
	for range 3 {
		c := e.selected(t, alice, "INBOX")
		c.send("a1 IDLE")
		c.readLine()
		done := make(chan error, 1)
		go func() {
			var err error
			for range 5 {
				_, err = e.store.Deliver(context.Background(), time.Now(), []mailstore.Target{{Account: e.ids[alice]}}, nil, strings.NewReader(msgPlain))
			}
			done <- err
		}()
		c.readLine() // an EXISTS
		c.nc.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	e.login(t, alice).ok("NOOP")
}

// TestIdleWithImapclientCommands uses the library client for a whole
// session, as a mail client would.
func TestIdleWithImapclientCommands(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, alice, msgPlain)
	i := newIdler(t, e, alice, "INBOX")
	e.deliver(t, alice, msgNested)
	i.expect(t, "EXISTS 2")
	if err := i.idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := i.idle.Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := i.c.Fetch(imap.SeqSetNum(1, 2), &imap.FetchOptions{UID: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatalf("FETCH: %v", err)
	}
	if len(msgs) != 2 || msgs[1].Envelope == nil || msgs[1].Envelope.Subject != "Fwd: Lunch on Friday" {
		t.Fatalf("FETCH: got %d messages %+v, want 2, the second forwarded", len(msgs), msgs)
	}
	// A large APPEND: go-imap's client waits for the continuation, as
	// LITERAL+ is not offered.
	big := bigMessage(100 << 10)
	cmd := i.c.Append("INBOX", int64(len(big)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}})
	if _, err := io.WriteString(cmd, big); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := cmd.Wait()
	if err != nil || data.UID != 3 {
		t.Fatalf("APPEND: got %+v, %v, want UID 3", data, err)
	}
	if err := i.c.Logout().Wait(); err != nil {
		t.Error(err)
	}
}
