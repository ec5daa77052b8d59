package recursive

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

func TestLocalAnswers(t *testing.T) {
	r := New(Options{Logger: quiet, Transport: &countingTransport{fail: true}})
	r.SetConfig(Config{
		Allow: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")},
		Hosts: []Host{
			{Name: "nas.home.arpa", Addrs: []netip.Addr{netip.MustParseAddr("192.168.1.5"), netip.MustParseAddr("fd00::5")}},
			{Name: "Printer.Office.LAN", Addrs: []netip.Addr{netip.MustParseAddr("10.1.2.3")}},
		},
	})
	client := netip.MustParseAddr("192.168.1.20")
	for _, tc := range []struct {
		name   string
		qtype  uint16
		rcode  int
		answer string // the first answer's data, "" for none
	}{
		{"nas.home.arpa.", dns.TypeA, dns.RcodeSuccess, "192.168.1.5"},
		{"NAS.home.arpa.", dns.TypeAAAA, dns.RcodeSuccess, "fd00::5"},
		{"nas.home.arpa.", dns.TypeMX, dns.RcodeSuccess, ""},
		{"printer.office.lan.", dns.TypeA, dns.RcodeSuccess, "10.1.2.3"},
		{"5.1.168.192.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, "nas.home.arpa."},
		{"3.2.1.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, "printer.office.lan."},
		{"9.1.168.192.in-addr.arpa.", dns.TypePTR, dns.RcodeNameError, ""},
		{"1.0.20.172.in-addr.arpa.", dns.TypePTR, dns.RcodeNameError, ""},
		{"other.home.arpa.", dns.TypeA, dns.RcodeNameError, ""},
		{"home.arpa.", dns.TypeSOA, dns.RcodeSuccess, "home.arpa."},
		{"localhost.", dns.TypeA, dns.RcodeSuccess, "127.0.0.1"},
		{"foo.localhost.", dns.TypeAAAA, dns.RcodeSuccess, "::1"},
		{"x.invalid.", dns.TypeA, dns.RcodeNameError, ""},
		{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.", dns.TypePTR, dns.RcodeSuccess, "localhost."},
		{"1.0.0.127.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, "localhost."},
		{"2.0.0.127.in-addr.arpa.", dns.TypePTR, dns.RcodeNameError, ""},
		{"5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", dns.TypePTR, dns.RcodeSuccess, "nas.home.arpa."},
	} {
		t.Run(tc.name+" "+dns.TypeToString[tc.qtype], func(t *testing.T) {
			q := new(dns.Msg)
			q.SetQuestion(tc.name, tc.qtype)
			m := r.Reply(q, client, false)
			if m.Rcode != tc.rcode {
				t.Fatalf("got %s, want %s", dns.RcodeToString[m.Rcode], dns.RcodeToString[tc.rcode])
			}
			got := ""
			if len(m.Answer) > 0 {
				switch v := m.Answer[0].(type) {
				case *dns.A:
					got = v.A.String()
				case *dns.AAAA:
					got = v.AAAA.String()
				case *dns.PTR:
					got = v.Ptr
				case *dns.SOA:
					got = v.Hdr.Name
				}
			}
			if got != tc.answer {
				t.Errorf("got answer %q, want %q", got, tc.answer)
			}
			if len(m.Answer) == 0 && tc.name != "printer.office.lan." && len(m.Ns) != 1 {
				t.Errorf("negative local answer without SOA: %v", m.Ns)
			}
		})
	}
}
