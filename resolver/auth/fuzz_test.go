package auth

import (
	"net"
	"testing"

	"github.com/miekg/dns"
)

// FuzzServeDNS feeds arbitrary messages (as the server would parse them)
// to the handler, over UDP and TCP, public and trusted: it must not panic.
func FuzzServeDNS(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"www.example.com.", dns.TypeA}, {"example.com.", dns.TypeAXFR}, {"example.com.", dns.TypeANY},
		{"nope.example.com.", dns.TypeMX}, {"blog.example.com.", dns.TypeIXFR}, {"x.", dns.TypeA},
	} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		m.SetEdns0(4096, true)
		b, _ := m.Pack()
		f.Add(b)
	}
	srv := New(Options{Logger: quiet})
	srv.SetSnapshot(testSnapshot(1))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := new(dns.Msg)
		if m.Unpack(data) != nil {
			return
		}
		for _, w := range []*fakeWriter{
			udpWriter("192.0.2.1"),
			{remote: &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 1}},
		} {
			srv.ServeDNS(w, m)
			srv.ServeTrusted(w, m)
		}
	})
}
