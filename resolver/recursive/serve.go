package recursive

import (
	"context"
	"log/slog"
	"net"
	"net/netip"

	"github.com/miekg/dns"
)

// HasLocal reports whether q is answered locally (a static LAN host's
// addresses, its PTR, or anything in a special zone), so a dispatcher can
// prefer the local answer to the box's public zones for LAN clients.
func (r *Resolver) HasLocal(q dns.Question) bool {
	_, local := r.config()
	return local.has(q)
}

// ServeDNS answers a client: REFUSED unless its address is allowed, then
// local names, then the cache and recursion. RD is not required: an allowed
// client always gets recursion.
func (r *Resolver) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := r.Reply(req, remoteAddr(w), isTCP(w))
	if m == nil {
		return
	}
	if err := w.WriteMsg(m); err != nil {
		r.log.Debug("dns write failed", slog.String("remote", w.RemoteAddr().String()), slog.Any("err", err))
	}
}

// Reply builds the answer to a client's query.
func (r *Resolver) Reply(req *dns.Msg, src netip.Addr, tcp bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	opt := req.IsEdns0()
	if opt != nil {
		m.SetEdns0(ednsSize, false)
		if opt.Version() != 0 {
			m.Rcode = dns.RcodeBadVers
			return m
		}
	}
	if !r.Allowed(src) {
		m.Rcode = dns.RcodeRefused
		return m
	}
	m.RecursionAvailable = true
	if rcode := r.fill(m, req); rcode != dns.RcodeSuccess {
		m.Rcode = rcode
	}
	m.Truncate(sizeLimit(opt, tcp))
	return m
}

// fill answers an allowed client's query into m and returns the rcode.
func (r *Resolver) fill(m, req *dns.Msg) int {
	if req.Opcode != dns.OpcodeQuery {
		return dns.RcodeNotImplemented
	}
	if len(req.Question) != 1 {
		return dns.RcodeFormatError
	}
	q := req.Question[0]
	if q.Qclass != dns.ClassINET || !askable(q.Qtype) {
		return dns.RcodeRefused
	}
	_, local := r.config()
	a, ok := local.answer(q)
	if ok {
		m.Authoritative = true
	} else {
		var err error
		if a, err = r.resolveClient(q); err != nil {
			r.log.Debug("dns resolution failed", slog.String("name", q.Name), slog.String("type", dns.TypeToString[q.Qtype]), slog.Any("err", err))
			return dns.RcodeServerFailure
		}
	}
	m.Answer, m.Ns = a.Answer, a.Ns
	if len(m.Answer) > 0 && dns.CanonicalName(m.Answer[0].Header().Name) == dns.CanonicalName(q.Name) {
		m.Answer[0].Header().Name = q.Name // keep the client's spelling
	}
	return a.Rcode
}

// resolveClient resolves within the request timeout and the concurrency
// bound.
func (r *Resolver) resolveClient(q dns.Question) (*Answer, error) {
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	default:
		return nil, errBudget
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.RequestTimeout)
	defer cancel()
	return r.Resolve(ctx, q.Name, q.Qtype)
}

// sizeLimit is 64 KiB over TCP; over UDP the client's EDNS0 buffer (at
// least 512) capped at 1232.
func sizeLimit(opt *dns.OPT, tcp bool) int {
	if tcp {
		return dns.MaxMsgSize
	}
	if opt == nil {
		return dns.MinMsgSize
	}
	return max(dns.MinMsgSize, min(int(opt.UDPSize()), ednsSize))
}

func isTCP(w dns.ResponseWriter) bool {
	_, ok := w.RemoteAddr().(*net.TCPAddr)
	return ok
}

// remoteAddr returns the client's address, or the zero Addr.
func remoteAddr(w dns.ResponseWriter) netip.Addr {
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
