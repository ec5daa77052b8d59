package recursive

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// replayTransport answers every query with the same hostile bytes; when
// adopt is set, ID and question are made to match so the reply gets past
// the first checks.
type replayTransport struct {
	data  []byte
	adopt bool
}

func (t replayTransport) Exchange(_ context.Context, m *dns.Msg, _ netip.AddrPort, _ bool) (*dns.Msg, error) {
	resp := new(dns.Msg)
	if err := resp.Unpack(t.data); err != nil {
		return nil, errors.New("garbage")
	}
	if t.adopt {
		resp.Id, resp.Question, resp.Response = m.Id, m.Question, true
	}
	return resp, nil
}

// FuzzUpstreamReply feeds arbitrary upstream replies to the resolver, in
// iterative and forwarding mode: it must not panic or loop.
func FuzzUpstreamReply(f *testing.F) {
	for _, s := range []string{
		"www.example.test. 300 IN A 192.0.2.1",
		"www.example.test. 300 IN CNAME www.example.test.",
		"test. 300 IN NS ns.test.",
		"example.test. 300 IN SOA a. b. 1 2 3 4 5",
	} {
		m := new(dns.Msg)
		m.SetQuestion("www.example.test.", dns.TypeA)
		m.Response = true
		rr, _ := dns.NewRR(s)
		m.Answer = []dns.RR{rr}
		m.Ns = []dns.RR{rr}
		m.Extra = []dns.RR{rr}
		b, _ := m.Pack()
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, adopt bool) {
		tr := replayTransport{data: data, adopt: adopt}
		for _, fwd := range []bool{false, true} {
			r := New(Options{Logger: quiet, Transport: tr, MaxQueries: 30,
				RootHints: []Hint{{Name: "root.", Addr: netip.MustParseAddr("192.0.2.53")}}})
			if fwd {
				r.SetConfig(Config{Forwarders: []netip.AddrPort{netip.MustParseAddrPort("192.0.2.54:53")}})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			for _, qt := range []uint16{dns.TypeA, dns.TypeCNAME, dns.TypeANY} {
				r.Resolve(ctx, "www.example.test.", qt)
			}
			cancel()
		}
	})
}
