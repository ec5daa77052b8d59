package zone

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// longKey is a 2048-bit RSA DKIM record: longer than one TXT string.
var longKey = "v=DKIM1; k=rsa; p=" + strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 9) + "IDAQAB"

func testSnapshot() *Snapshot {
	return &Snapshot{
		Domains: []Domain{{
			Name:   "Example.COM",
			Serial: 2026031601,
			Host:   "mail.example.com",
			Addrs:  []netip.Addr{netip.MustParseAddr("192.0.2.25"), netip.MustParseAddr("2001:db8::25")},
			DKIM: []DKIMKey{
				{Selector: "2026a", Value: "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
				{Selector: "2026b", Value: longKey},
			},
			DMARC:    DMARC{Policy: "reject", RUA: "dmarc-reports@example.com"},
			MTASTSID: "20260316T000000",
			TLSRPT:   "tls-reports@example.com",
			TLSA:     []string{strings.Repeat("AB", 32)},
			CAA:      []string{"letsencrypt.org"},
			NS: []NameServer{
				{Name: "ns1.example.com", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.53")}},
				{Name: "ns2.secondary.example"},
			},
			Secondaries: []Secondary{{Addr: netip.MustParseAddr("198.51.100.53"), TSIGKey: "xfr.", TSIGSecret: "c2VjcmV0c2VjcmV0c2VjcmV0"}},
			Extra: []string{
				"www 300 IN A 192.0.2.80",
				`@ TXT "google-site-verification=abc"`,
				"blog CNAME www.example.com.",
			},
		}, {
			Name:  "example.org",
			Host:  "mail.example.com",
			Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.25")},
			NS:    []NameServer{{Name: "mail.example.com"}},
		}},
	}
}

func TestZoneFileGolden(t *testing.T) {
	s := testSnapshot()
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	for _, name := range []string{"example.com", "example.org"} {
		t.Run(name, func(t *testing.T) {
			got, err := s.ZoneFile(name)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", name+".zone"), got)
			checkParses(t, got, name)
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("zone differs from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// checkParses reads the printed zone back with miekg/dns's zone parser.
func checkParses(t *testing.T, text, origin string) {
	t.Helper()
	zp := dns.NewZoneParser(strings.NewReader(text), dns.Fqdn(origin), "")
	n := 0
	for _, ok := zp.Next(); ok; _, ok = zp.Next() {
		n++
	}
	if err := zp.Err(); err != nil || n == 0 {
		t.Errorf("zone file does not parse back: %v (%d records)", err, n)
	}
}

func TestDKIMSplitInto255ByteStrings(t *testing.T) {
	rrs, err := testSnapshot().Generate("example.com.")
	if err != nil {
		t.Fatal(err)
	}
	var found *dns.TXT
	for _, rr := range rrs {
		if rr.Header().Name == "2026b._domainkey.example.com." {
			found = rr.(*dns.TXT)
		}
	}
	if found == nil {
		t.Fatal("no TXT for selector 2026b")
	}
	if len(found.Txt) < 2 || strings.Join(found.Txt, "") != longKey {
		t.Fatalf("got %d strings joining to %q, want the key split", len(found.Txt), strings.Join(found.Txt, ""))
	}
	// Packing proves each string fits the wire limit of 255 bytes.
	m := new(dns.Msg)
	m.Answer = []dns.RR{found}
	if _, err := m.Pack(); err != nil {
		t.Fatalf("pack: %v", err)
	}
	for i, s := range found.Txt {
		if len(s) > 255 {
			t.Errorf("string %d has %d bytes", i, len(s))
		}
	}
}

func TestSplitTXTEscapes(t *testing.T) {
	got := SplitTXT(`a"b\c` + "\x01")
	want := []string{`a\"b\\c\001`}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestExtraRecordsRefused(t *testing.T) {
	for _, line := range []string{
		"* A 192.0.2.1",
		"sub NS ns.elsewhere.example.",
		"@ SOA a. b. 1 2 3 4 5",
		"www.example.net. A 192.0.2.1",
		"@ CNAME elsewhere.example.",
		"_dmarc CNAME elsewhere.example.",
		"x DNAME elsewhere.example.",
		"bad bad bad",
	} {
		t.Run(line, func(t *testing.T) {
			s := &Snapshot{Domains: []Domain{{Name: "example.com", Host: "mail.example.com", Extra: []string{line}}}}
			if err := s.Validate(); err == nil {
				t.Errorf("Validate accepted %q", line)
			}
			rrs, err := s.Generate("example.com")
			if err != nil {
				t.Fatal(err)
			}
			for _, rr := range rrs {
				h := rr.Header()
				if strings.HasPrefix(h.Name, "*") || h.Rrtype == dns.TypeDNAME || (h.Rrtype == dns.TypeNS && h.Name != "example.com.") {
					t.Errorf("refused record served: %s", rr)
				}
			}
		})
	}
}

func TestNextSerial(t *testing.T) {
	day := time.Date(2026, 3, 16, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ prev, want uint32 }{
		{0, 2026031600},
		{2026031600, 2026031601},
		{2026031699, 2026031700},
		{2026041000, 2026041001},
	} {
		if got := NextSerial(tc.prev, day); got != tc.want {
			t.Errorf("NextSerial(%d): got %d, want %d", tc.prev, got, tc.want)
		}
	}
}

func TestAssignSerials(t *testing.T) {
	now := time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)
	prev := testSnapshot()
	prev.AssignSerials(nil, now)
	if got := prev.Domains[1].Serial; got != 2026031600 {
		t.Fatalf("new domain: got serial %d, want 2026031600", got)
	}
	next := testSnapshot()
	next.Domains[0].Serial = 0
	next.Domains[1].DKIM = append(next.Domains[1].DKIM, DKIMKey{Selector: "new", Value: "v=DKIM1; p=x"})
	next.AssignSerials(prev, now)
	if got, want := next.Domains[0].Serial, prev.Domains[0].Serial; got != want {
		t.Errorf("unchanged domain: got serial %d, want %d", got, want)
	}
	if got, want := next.Domains[1].Serial, prev.Domains[1].Serial+1; got != want {
		t.Errorf("changed domain: got serial %d, want %d", got, want)
	}
}

func TestWriteFileLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dns.json")
	s := testSnapshot()
	s.LAN = []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}
	s.LANHosts = []LANHost{{Name: "nas.home.arpa", Addrs: []netip.Addr{netip.MustParseAddr("192.168.1.5")}}}
	if err := WriteFile(path, s); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.ZoneFile("example.com")
	b, _ := got.ZoneFile("example.com")
	if a != b || len(got.LAN) != 1 || got.LANHosts[0].Addrs[0] != s.LANHosts[0].Addrs[0] {
		t.Errorf("snapshot changed through a file round trip")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}
