package appliance_test

import (
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TestQueueSurvivesKill9 fills box A's outbound queue while B is down,
// kills A with SIGKILL, and checks that after the restart every message is
// still queued and, once B is back, delivered exactly once. Then it kills A
// again in the middle of delivering a second batch: nothing may be lost;
// a message can arrive twice only if A died between B's 250 and its own
// record of it (the window RFC 5321 section 6.1 accepts), so at most one
// per connection in flight.
func TestQueueSurvivesKill9(t *testing.T) {
	a, b, _ := startTwoBoxes(t, "")

	const first = 200
	b.stop()
	submitMany(t, a, "queued", 0, first)
	a.kill9()
	a.start()
	if n := strings.Count(a.run("", "queue", "list", "-data", a.dir), "bob@b.test"); n != first {
		t.Fatalf("after kill -9 the queue holds %d messages, want %d", n, first)
	}
	b.start()
	waitSubjects(t, b, "queued", first)
	waitQueueEmpty(t, a)
	if dups := countSubjects(t, b, "queued"); len(dups) > 0 {
		t.Errorf("delivered more than once after a restart with a full queue: %v", dups)
	}

	const second = 300
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); submitMany(t, a, "inflight", 0, second) }()
	// Kill A once B has some of the batch, while the rest is in flight.
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if countPrefix(t, b, "inflight") >= 30 {
			break
		}
	}
	wg.Wait()
	a.kill9()
	a.start()
	waitSubjects(t, b, "inflight", second)
	waitQueueEmpty(t, a)
	dups := countSubjects(t, b, "inflight")
	t.Logf("kill -9 during delivery: %d of %d messages arrived twice", len(dups), second)
	if len(dups) > 8 { // the queue's connections to one domain, one message each in flight
		t.Errorf("%d messages delivered twice, more than the connections in flight: %v", len(dups), dups)
	}
}

func (b *box) kill9() {
	b.cmd.Process.Kill()
	b.cmd.Wait()
	b.logf.Close()
	b.cmd = nil
}

// submitMany submits messages "<prefix> <i>" for i in [from, to) over
// four connections; each must get 250.
func submitMany(t *testing.T, a *box, prefix string, from, to int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.DialStartTLS(a.ip+":587", &tls.Config{InsecureSkipVerify: true})
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if err := c.Auth(sasl.NewPlainClient("", "alice@a.test", "alice-password-1")); err != nil {
				errs <- err
				return
			}
			for i := from + w; i < to; i += 4 {
				msg := fmt.Sprintf("From: alice@a.test\r\nTo: bob@b.test\r\nSubject: %s %d\r\nMessage-ID: <%s-%d@a.test>\r\n\r\nBody %d.\r\n", prefix, i, prefix, i, i)
				if err := c.SendMail("alice@a.test", []string{"bob@b.test"}, strings.NewReader(msg)); err != nil {
					errs <- fmt.Errorf("message %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// bobSubjects counts Bob's messages per subject.
func bobSubjects(t *testing.T, b *box) map[string]int {
	got := map[string]int{}
	for _, m := range fetchAll(t, b, "bob@b.test", "bob-password-1") {
		if s := header(m, "Subject"); len(s) > 0 {
			got[s[0]]++
		}
	}
	return got
}

func countPrefix(t *testing.T, b *box, prefix string) int {
	n := 0
	for s := range bobSubjects(t, b) {
		if strings.HasPrefix(s, prefix+" ") {
			n++
		}
	}
	return n
}

// waitSubjects waits until Bob has every "<prefix> <i>", i < n.
func waitSubjects(t *testing.T, b *box, prefix string, n int) {
	t.Helper()
	var missing []string
	for deadline := time.Now().Add(120 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		got := bobSubjects(t, b)
		missing = missing[:0]
		for i := 0; i < n; i++ {
			if s := fmt.Sprintf("%s %d", prefix, i); got[s] == 0 {
				missing = append(missing, s)
			}
		}
		if len(missing) == 0 {
			return
		}
	}
	t.Fatalf("%d messages never arrived, e.g. %q", len(missing), missing[:min(5, len(missing))])
}

// countSubjects returns the subjects with the prefix Bob has more than once.
func countSubjects(t *testing.T, b *box, prefix string) []string {
	var dups []string
	for s, n := range bobSubjects(t, b) {
		if strings.HasPrefix(s, prefix+" ") && n > 1 {
			dups = append(dups, fmt.Sprintf("%s ×%d", s, n))
		}
	}
	return dups
}
