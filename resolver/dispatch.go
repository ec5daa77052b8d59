package resolver

import (
	"net"
	"net/netip"

	"github.com/miekg/dns"

	"facteur/resolver/auth"
	"facteur/resolver/recursive"
)

// Handler is the one dns.Handler of the dns role's listeners. It decides
// by the client's address and by the name asked:
//
//  1. a LAN (or loopback) client asking a locally answered name (a static
//     LAN host's A/AAAA or PTR, private reverse zones, home.arpa, localhost)
//     → the resolver's local answer: a static host overrides the public
//     zone's address for LAN clients (the mail host's LAN address behind NAT);
//  2. a name in one of the box's zones → the authoritative server, rate
//     limited unless the client is on the LAN;
//  3. any other name from a LAN client → recursion;
//  4. anyone else → REFUSED by the authoritative server (rate limited):
//     never an open resolver.
//
// Zone transfers and other opcodes always go to the authoritative server.
type Handler struct {
	Auth      *auth.Server
	Recursive *recursive.Resolver
}

// ServeDNS implements dns.Handler.
func (h *Handler) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	lan := h.Recursive.Allowed(clientAddr(w))
	if r.Opcode != dns.OpcodeQuery || len(r.Question) != 1 {
		h.authoritative(w, r, lan)
		return
	}
	name := r.Question[0].Name
	switch {
	case lan && h.Recursive.HasLocal(r.Question[0]):
		h.Recursive.ServeDNS(w, r)
	case h.Auth.Handles(name):
		h.authoritative(w, r, lan)
	case lan:
		h.Recursive.ServeDNS(w, r)
	default:
		h.Auth.ServeDNS(w, r)
	}
}

func (h *Handler) authoritative(w dns.ResponseWriter, r *dns.Msg, lan bool) {
	if lan {
		h.Auth.ServeTrusted(w, r)
		return
	}
	h.Auth.ServeDNS(w, r)
}

func clientAddr(w dns.ResponseWriter) netip.Addr {
	var ip net.IP
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.TCPAddr:
		ip = a.IP
	}
	addr, _ := netip.AddrFromSlice(ip)
	return addr.Unmap()
}
