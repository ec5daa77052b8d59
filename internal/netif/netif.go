// Package netif says which private networks the box is on: the prefixes
// of its interfaces that are up, when private (RFC 1918, RFC 4193) or
// link-local. The firewall and DNS roles count them as the office LAN
// besides the prefixes of the settings. A public subnet the box is on is
// not trusted that way: its neighbours may be anyone.
package netif

import (
	"net"
	"net/netip"
	"slices"
	"strings"
)

// Connected returns the masked private and link-local prefixes of the
// interfaces that are up, sorted and without duplicates.
func Connected() []netip.Prefix {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				p, err := netip.ParsePrefix(n.String())
				if err == nil && (p.Addr().IsPrivate() || p.Addr().IsLinkLocalUnicast()) {
					out = append(out, p.Masked())
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int { return strings.Compare(a.String(), b.String()) })
	return slices.Compact(out)
}
