package netif

import (
	"net"
	"net/netip"
	"testing"
)

// TestConnected compares with the interfaces' own addresses: every
// private or link-local address of an interface that is up lies in a
// returned prefix, and nothing returned is public, loopback or unmasked.
func TestConnected(t *testing.T) {
	got := Connected()
	for _, p := range got {
		if p != p.Masked() || !(p.Addr().IsPrivate() || p.Addr().IsLinkLocalUnicast()) {
			t.Errorf("Connected gave %v", p)
		}
	}
	ifs, _ := net.Interfaces()
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			ip, _ := netip.AddrFromSlice(a.(*net.IPNet).IP)
			ip = ip.Unmap()
			if !ip.IsPrivate() && !ip.IsLinkLocalUnicast() {
				continue
			}
			found := false
			for _, p := range got {
				found = found || p.Contains(ip)
			}
			if !found {
				t.Errorf("%s's address %v is in no connected prefix %v", ifc.Name, ip, got)
			}
		}
	}
}
