package mailbench

import (
	"context"
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// waitCount polls STATUS INBOX every interval until it reports n
// messages, and returns when it did.
func waitCount(ctx context.Context, addr string, u User, n int, interval time.Duration) (time.Time, error) {
	c, err := dialIMAP(addr, u, nil)
	if err != nil {
		return time.Time{}, err
	}
	defer c.Close()
	for {
		got, err := inboxCount(c)
		if err != nil {
			return time.Time{}, err
		}
		if int(got) >= n {
			return time.Now(), c.Logout().Wait()
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("INBOX of %s has %d of %d messages: %w", u.Addr, got, n, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// LargeTimes are the IMAP timings on the large mailbox.
type LargeTimes struct {
	Select time.Duration   // the first SELECT after the fill
	Fetch  []time.Duration // FETCH 1:* (FLAGS ENVELOPE), in run order
	Search []time.Duration // UID SEARCH BODY RareWord, in run order
}

// timeLarge selects u's INBOX, which must hold n generated messages, and
// times runs FETCHes of every envelope and runs body searches, checking
// every answer.
func timeLarge(addr string, u User, n, runs int) (*LargeTimes, error) {
	c, err := dialIMAP(addr, u, nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var lt LargeTimes
	t0 := time.Now()
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("select: %w", err)
	}
	lt.Select = time.Since(t0)
	if int(sel.NumMessages) != n {
		return nil, fmt.Errorf("INBOX of %s holds %d messages, want %d", u.Addr, sel.NumMessages, n)
	}
	for range runs {
		d, err := timeFetchAll(c, n)
		if err != nil {
			return nil, err
		}
		lt.Fetch = append(lt.Fetch, d)
	}
	for range runs {
		d, err := timeSearch(c, RareCount(n))
		if err != nil {
			return nil, err
		}
		lt.Search = append(lt.Search, d)
	}
	return &lt, c.Logout().Wait()
}

// timeFetchAll times FETCH 1:* (FLAGS ENVELOPE), reading every response.
func timeFetchAll(c *imapclient.Client, n int) (time.Duration, error) {
	t0 := time.Now()
	cmd := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true, Envelope: true})
	got := 0
	for {
		m := cmd.Next()
		if m == nil {
			break
		}
		buf, err := m.Collect()
		if err != nil {
			cmd.Close()
			return 0, fmt.Errorf("fetch: %w", err)
		}
		if buf.Envelope == nil {
			cmd.Close()
			return 0, fmt.Errorf("fetch: message %d without ENVELOPE", buf.SeqNum)
		}
		got++
	}
	if err := cmd.Close(); err != nil {
		return 0, fmt.Errorf("fetch: %w", err)
	}
	d := time.Since(t0)
	if got != n {
		return 0, fmt.Errorf("FETCH 1:* returned %d messages, want %d", got, n)
	}
	return d, nil
}

// timeSearch times UID SEARCH BODY RareWord and checks the hit count.
func timeSearch(c *imapclient.Client, want int) (time.Duration, error) {
	t0 := time.Now()
	data, err := c.UIDSearch(&imap.SearchCriteria{Body: []string{RareWord}}, nil).Wait()
	d := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("search: %w", err)
	}
	if got := len(data.AllUIDs()); got != want {
		return 0, fmt.Errorf("UID SEARCH BODY %s found %d messages, want %d", RareWord, got, want)
	}
	return d, nil
}
