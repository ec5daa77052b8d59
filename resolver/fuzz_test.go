package resolver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"facteur/resolver/auth"
	"facteur/resolver/recursive"
)

type downTransport struct{}

func (downTransport) Exchange(context.Context, *dns.Msg, netip.AddrPort, bool) (*dns.Msg, error) {
	return nil, errors.New("down")
}

type recorder struct{ remote net.Addr }

func (w recorder) LocalAddr() net.Addr  { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (w recorder) RemoteAddr() net.Addr { return w.remote }
func (w recorder) WriteMsg(m *dns.Msg) error {
	_, err := m.Pack()
	return err
}
func (w recorder) Write(b []byte) (int, error) { return len(b), nil }
func (w recorder) Close() error                { return nil }
func (w recorder) TsigStatus() error           { return nil }
func (w recorder) TsigTimersOnly(bool)         {}
func (w recorder) Hijack()                     {}

// FuzzHandler feeds arbitrary queries to the dispatching handler from LAN
// and public clients, over UDP and TCP: it must not panic.
func FuzzHandler(f *testing.F) {
	quiet := slog.New(slog.DiscardHandler)
	a := auth.New(auth.Options{Logger: quiet})
	a.SetSnapshot(roleSnapshot())
	rec := recursive.New(recursive.Options{Logger: quiet, Transport: downTransport{},
		RootHints: []recursive.Hint{{Name: "root.", Addr: netip.MustParseAddr("127.0.0.1")}}})
	rec.SetConfig(recursive.Config{
		Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Hosts: []recursive.Host{{Name: "nas.home.arpa", Addrs: []netip.Addr{netip.MustParseAddr("192.168.1.5")}}},
	})
	h := &Handler{Auth: a, Recursive: rec}
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"www.example.com.", dns.TypeA}, {"nas.home.arpa.", dns.TypeA}, {"5.1.168.192.in-addr.arpa.", dns.TypePTR},
		{"example.com.", dns.TypeAXFR}, {"www.example.test.", dns.TypeA}, {"localhost.", dns.TypeANY},
	} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		m.SetEdns0(1232, false)
		b, _ := m.Pack()
		f.Add(b)
	}
	writers := []recorder{
		{&net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: 1}},
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 1}},
		{&net.UDPAddr{IP: net.ParseIP("192.0.2.1"), Port: 1}},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := new(dns.Msg)
		if m.Unpack(data) != nil {
			return
		}
		for _, w := range writers {
			h.ServeDNS(w, m)
		}
	})
}
