package firewall

import (
	"net/netip"
	"slices"

	"github.com/google/nftables"
)

// splitPrefixes returns the IPv4 and the IPv6 prefixes of ps, masked,
// sorted, without duplicates and without prefixes that another one in the
// list contains. The kernel refuses overlapping intervals in one set, and
// nft lists a set's elements in this order.
func splitPrefixes(ps []netip.Prefix) (v4, v6 []netip.Prefix) {
	for _, p := range ps {
		p = p.Masked()
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	return disjoint(v4), disjoint(v6)
}

// disjoint sorts ps by address, shorter prefix first, and drops every prefix
// that an earlier one contains.
func disjoint(ps []netip.Prefix) []netip.Prefix {
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	var out []netip.Prefix
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].Contains(p.Addr()) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// intervalElements encodes sorted, disjoint prefixes for an interval set
// the way nft does: each prefix is a range from its first address to the
// address after its last, the end flagged as such; a range that runs to
// the top of the address space has no end element; and unless the first
// range starts at the zero address, an end element there closes the gap
// below it.
func intervalElements(ps []netip.Prefix) []nftables.SetElement {
	var els []nftables.SetElement
	if len(ps) > 0 && !ps[0].Addr().IsUnspecified() {
		zero := make([]byte, ps[0].Addr().BitLen()/8)
		els = append(els, nftables.SetElement{Key: zero, IntervalEnd: true})
	}
	for _, p := range ps {
		els = append(els, nftables.SetElement{Key: p.Addr().AsSlice()})
		if end, ok := afterPrefix(p); ok {
			els = append(els, nftables.SetElement{Key: end.AsSlice(), IntervalEnd: true})
		}
	}
	return els
}

// afterPrefix returns the first address after p, and false when p runs to
// the end of its address space.
func afterPrefix(p netip.Prefix) (netip.Addr, bool) {
	b := p.Masked().Addr().AsSlice()
	// Set the host bits, then add one.
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	for i := len(b) - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			a, _ := netip.AddrFromSlice(b)
			return a, true
		}
	}
	return netip.Addr{}, false
}

// prefixString writes p the way nft lists it: a single address without
// its length.
func prefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}
