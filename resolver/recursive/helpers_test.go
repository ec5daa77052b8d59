package recursive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/goleak"

	"facteur/resolver/auth"
	"facteur/resolver/internal/dnstest"
	"facteur/resolver/zone"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var quiet = slog.New(slog.DiscardHandler)

type fakeClock = dnstest.Clock

func newFakeClock() *fakeClock { return dnstest.NewClock() }

// countingTransport counts (and logs) the queries that leave the resolver,
// and can be made to fail them all.
type countingTransport struct {
	inner Transport

	// mu protects the fields below.
	mu   sync.Mutex
	log  []string
	fail bool
}

var errDown = errors.New("upstreams down (test)")

func (c *countingTransport) Exchange(ctx context.Context, m *dns.Msg, server netip.AddrPort, tcp bool) (*dns.Msg, error) {
	c.mu.Lock()
	network := "udp"
	if tcp {
		network = "tcp"
	}
	c.log = append(c.log, fmt.Sprintf("%s %s %s %s", server.Addr(), strings.ToLower(m.Question[0].Name), dns.TypeToString[m.Question[0].Qtype], network))
	fail := c.fail
	c.mu.Unlock()
	if fail {
		return nil, errDown
	}
	return c.inner.Exchange(ctx, m, server, tcp)
}

func (c *countingTransport) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.log)
}

func (c *countingTransport) queries() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

func (c *countingTransport) setFail(b bool) {
	c.mu.Lock()
	c.fail = b
	c.mu.Unlock()
}

// leafSnapshot is example.test as the box's own authoritative server
// serves it in the test hierarchy.
func leafSnapshot() *zone.Snapshot {
	return &zone.Snapshot{Domains: []zone.Domain{{
		Name:   "example.test",
		Serial: 1,
		Host:   "mail.example.test",
		Addrs:  []netip.Addr{netip.MustParseAddr("127.0.0.25")},
		NS:     []zone.NameServer{{Name: "ns1.example.test", Addrs: []netip.Addr{netip.MustParseAddr(dnstest.LeafAddr)}}},
		Extra: []string{
			"www 300 A 127.0.0.80",
			"tocname 300 CNAME www.other.test.",
		},
	}}}
}

type testEnv struct {
	h     *dnstest.Hierarchy
	clock *fakeClock
	tr    *countingTransport
	r     *Resolver
}

// newEnv starts the test hierarchy, example.test served by auth.Server, and
// a resolver pointed at its root through a counting transport.
func newEnv(t *testing.T, opts Options) *testEnv {
	t.Helper()
	leaf := auth.New(auth.Options{Logger: quiet})
	if err := leaf.SetSnapshot(leafSnapshot()); err != nil {
		t.Fatal(err)
	}
	h := dnstest.StartHierarchy(t, leaf)
	env := &testEnv{h: h, clock: newFakeClock(), tr: &countingTransport{inner: NetTransport{}}}
	for _, hint := range h.Hints {
		opts.RootHints = append(opts.RootHints, Hint{Name: hint.Name, Addr: hint.Addr})
	}
	opts.Port = uint16(h.Port)
	opts.Transport = env.tr
	opts.Now = env.clock.Now
	opts.Logger = quiet
	env.r = New(opts)
	env.r.SetConfig(Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	return env
}

// resolve resolves and returns the answer and the number of packets sent.
func (e *testEnv) resolve(t *testing.T, name string, qtype uint16) (*Answer, int) {
	t.Helper()
	before := e.tr.count()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := e.r.Resolve(ctx, name, qtype)
	if err != nil {
		t.Fatalf("resolve %s %s: %v (queries %v)", name, dns.TypeToString[qtype], err, e.tr.queries()[before:])
	}
	return a, e.tr.count() - before
}

// addrs returns the A records' addresses of an answer.
func addrs(a *Answer) []string {
	var out []string
	for _, rr := range a.Answer {
		if v, ok := rr.(*dns.A); ok {
			out = append(out, v.A.String())
		}
	}
	return out
}
