package auth

import (
	"encoding/base64"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/goleak"

	"facteur/resolver/internal/dnstest"
	"facteur/resolver/zone"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const tsigName = "xfr.example.com."

var tsigSecret = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

// bigTXT is an extra record larger than a 1232-byte UDP response.
var bigTXT = func() string {
	var parts []string
	for i := range 8 {
		parts = append(parts, `"`+strings.Repeat(string(rune('a'+i)), 200)+`"`)
	}
	return "big TXT " + strings.Join(parts, " ")
}()

func testSnapshot(serial uint32) *zone.Snapshot {
	return &zone.Snapshot{Domains: []zone.Domain{{
		Name:   "example.com",
		Serial: serial,
		Host:   "mail.example.com",
		Addrs:  []netip.Addr{netip.MustParseAddr("192.0.2.25"), netip.MustParseAddr("2001:db8::25")},
		DKIM: []zone.DKIMKey{
			{Selector: "2026b", Value: "v=DKIM1; k=rsa; p=" + strings.Repeat("A", 400)},
		},
		DMARC: zone.DMARC{RUA: "dmarc@example.com"},
		Secondaries: []zone.Secondary{
			{Addr: netip.MustParseAddr("127.0.0.1"), TSIGKey: tsigName, TSIGSecret: tsigSecret},
		},
		Extra: []string{
			"www 300 A 192.0.2.80",
			"blog CNAME www",
			"deep.sub 300 A 192.0.2.81",
			bigTXT,
		},
	}}}
}

type fakeClock = dnstest.Clock

func newFakeClock() *fakeClock { return dnstest.NewClock() }

// startServer serves srv on a free port of 127.0.0.1 (UDP and TCP).
func startServer(t *testing.T, srv *Server) string {
	t.Helper()
	pc, l, err := dnstest.ListenPair("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	r, err := dnstest.Serve(srv, pc, l, srv.TsigProvider())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r.Addr
}

var quiet = slog.New(slog.DiscardHandler)

func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	srv := New(opts)
	if err := srv.SetSnapshot(testSnapshot(2026031601)); err != nil {
		t.Fatalf("SetSnapshot: %v", err)
	}
	return srv
}

func query(t *testing.T, addr, network, name string, qtype uint16, edns uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	if edns > 0 {
		m.SetEdns0(edns, false)
	}
	c := &dns.Client{Net: network, Timeout: 5 * time.Second, UDPSize: 65535}
	resp, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return resp
}

// fakeWriter is a dns.ResponseWriter that records what is written.
type fakeWriter struct {
	remote  net.Addr
	written []*dns.Msg
	tsigErr error
}

func udpWriter(ip string) *fakeWriter {
	return &fakeWriter{remote: &net.UDPAddr{IP: net.ParseIP(ip), Port: 5353}}
}

func (w *fakeWriter) LocalAddr() net.Addr  { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (w *fakeWriter) RemoteAddr() net.Addr { return w.remote }
func (w *fakeWriter) WriteMsg(m *dns.Msg) error {
	if _, err := m.Pack(); err != nil {
		return err
	}
	w.written = append(w.written, m)
	return nil
}
func (w *fakeWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *fakeWriter) Close() error                { return nil }
func (w *fakeWriter) TsigStatus() error           { return w.tsigErr }
func (w *fakeWriter) TsigTimersOnly(bool)         {}
func (w *fakeWriter) Hijack()                     {}
