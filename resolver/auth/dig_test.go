package auth

import (
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
)

func netipFrom4(a, b, c, d byte) netip.Addr { return netip.AddrFrom4([4]byte{a, b, c, d}) }

// dig runs Debian's dig (package dnsutils) against addr.
func dig(t *testing.T, addr string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("dig")
	if err != nil {
		t.Skip("dig not installed (apt-get install dnsutils; make test installs it)")
	}
	host, port, _ := net.SplitHostPort(addr)
	all := append([]string{"@" + host, "-p", port, "-b", "127.0.0.1", "+time=5", "+tries=1"}, args...)
	out, err := exec.Command(path, all...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %s: %v\n%s", strings.Join(all, " "), err, out)
	}
	return string(out)
}

func TestDig(t *testing.T) {
	addr := startServer(t, newServer(t, Options{}))
	for _, transport := range []string{"+notcp", "+tcp"} {
		out := dig(t, addr, transport, "+norec", "example.com", "SOA")
		if !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, "flags: qr aa") ||
			!strings.Contains(out, "2026031601") {
			t.Errorf("dig %s SOA:\n%s", transport, out)
		}
		out = dig(t, addr, transport, "nope.example.com", "A")
		if !strings.Contains(out, "status: NXDOMAIN") || !strings.Contains(out, "AUTHORITY: 1") {
			t.Errorf("dig %s NXDOMAIN:\n%s", transport, out)
		}
		out = dig(t, addr, transport, "+short", "2026b._domainkey.example.com", "TXT")
		if !strings.Contains(out, `"v=DKIM1; k=rsa; p=AAAA`) || strings.Count(out, `" "`) != 1 {
			t.Errorf("dig %s DKIM:\n%s", transport, out)
		}
	}
	out := dig(t, addr, "+ignore", "+bufsize=1232", "big.example.com", "TXT")
	if !strings.Contains(out, " tc") {
		t.Errorf("big answer over UDP not truncated:\n%s", out)
	}
}

func TestDigAXFR(t *testing.T) {
	addr := startServer(t, newServer(t, Options{}))
	out := dig(t, addr, "-y", "hmac-sha256:"+tsigName+":"+tsigSecret, "example.com", "AXFR")
	if !strings.Contains(out, "XFR size:") || strings.Contains(out, "failed") ||
		strings.Count(out, "\tSOA\t") != 2 || !strings.Contains(out, "_submission._tcp.example.com.") {
		t.Errorf("dig axfr with TSIG:\n%s", out)
	}
	out = dig(t, addr, "example.com", "AXFR")
	if !strings.Contains(out, "Transfer failed") {
		t.Errorf("dig axfr without TSIG was not refused:\n%s", out)
	}
	out = dig(t, addr, "-y", "hmac-sha256:"+tsigName+":d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldA==", "example.com", "AXFR")
	if strings.Contains(out, "XFR size:") {
		t.Errorf("dig axfr with a wrong secret succeeded:\n%s", out)
	}
}
