// Package auth is the box's authoritative name server: it answers for the
// zones generated from a zone.Snapshot, which can be replaced at run time.
//
// Implemented:
//   - RFC 1034/1035: queries over UDP and TCP, authoritative answers,
//     in-zone CNAME chasing, additional addresses for MX, SRV and NS targets;
//     names compare case-insensitively (RFC 4343) and the answer keeps the
//     question's spelling.
//   - RFC 2308: NXDOMAIN and NODATA carry the SOA in the authority section,
//     its TTL the negative TTL (the SOA minimum); RFC 8020: empty
//     non-terminals answer NODATA.
//   - RFC 6891 (EDNS0): OPT in replies, BADVERS for versions other than 0,
//     responses cut to the client's buffer size (capped at 1232 bytes, the
//     DNS Flag Day 2020 value) with TC set.
//   - RFC 5936 (AXFR) over TCP only, to the zone's secondaries, signed with
//     TSIG (RFC 8945); IXFR is answered with the whole zone (RFC 1995 section 4).
//   - RFC 1996: NOTIFY to the secondaries when a zone's serial changes.
//   - RFC 8482: ANY over UDP gets a synthesized HINFO.
//   - Response rate limiting in the style of NSD and BIND (per client /24 or
//     /56, with slip) on the public path.
//
// The server is wildcard-free and delegation-free: it holds only the box's
// own zones and answers REFUSED for every other name.
package auth

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"

	"facteur/resolver/zone"
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// Logger receives errors and zone changes; slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock of the rate limiter and of TSIG signing; time.Now
	// when nil.
	Now func() time.Time
	// RRL configures response rate limiting on the public path.
	RRL RRLOptions
	// MaxUDPSize caps UDP responses; 1232 when zero.
	MaxUDPSize int
	// NotifyTimeout is how long to wait for a secondary's NOTIFY reply;
	// 2 s when zero. Each NOTIFY is tried NotifyTries times (default 5),
	// with the wait doubling (RFC 1996 section 3.6).
	NotifyTimeout time.Duration
	NotifyTries   int
}

// Server answers authoritatively for a set of zones. Its ServeDNS is the
// public path (rate limited); ServeTrusted answers LAN and loopback clients.
// A dns.Server carrying it must use its TsigProvider.
type Server struct {
	opts Options
	log  *slog.Logger
	rrl  *rateLimiter
	tsig *keyring

	// mu protects zones.
	mu    sync.RWMutex
	zones map[string]*authZone

	// notifyMu protects pending.
	notifyMu sync.Mutex
	pending  map[string]*authZone
	wake     chan struct{}
}

// New returns a server without zones.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxUDPSize == 0 {
		opts.MaxUDPSize = 1232
	}
	if opts.NotifyTimeout == 0 {
		opts.NotifyTimeout = 2 * time.Second
	}
	if opts.NotifyTries == 0 {
		opts.NotifyTries = 5
	}
	return &Server{
		opts:    opts,
		log:     opts.Logger,
		rrl:     newRateLimiter(opts.RRL),
		tsig:    newKeyring(),
		zones:   map[string]*authZone{},
		pending: map[string]*authZone{},
		wake:    make(chan struct{}, 1),
	}
}

// SetSnapshot replaces every zone with those of snap. Zones whose serial
// changed (or that are new) are queued for NOTIFY to their secondaries. The
// error reports the snapshot's problems; the usable part is served anyway.
func (s *Server) SetSnapshot(snap *zone.Snapshot) error {
	zones := map[string]*authZone{}
	keys := map[string]tsigKey{}
	for i := range snap.Domains {
		z := buildZone(&snap.Domains[i])
		zones[z.apex] = z
		for _, sec := range z.secondaries {
			if sec.TSIGKey != "" {
				keys[dns.CanonicalName(sec.TSIGKey)] = tsigKey{secret: sec.TSIGSecret, algorithm: sec.Algorithm()}
			}
		}
	}
	s.tsig.set(keys)
	s.mu.Lock()
	old := s.zones
	s.zones = zones
	s.mu.Unlock()
	for apex, z := range zones {
		if prev := old[apex]; prev == nil || prev.soa.Serial != z.soa.Serial {
			s.queueNotify(z)
		}
	}
	return snap.Validate()
}

// Handles reports whether name is at or below one of the zones.
func (s *Server) Handles(name string) bool {
	return s.zoneFor(name) != nil
}

// Zones returns the apex of every zone served.
func (s *Server) Zones() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.zones))
	for apex := range s.zones {
		out = append(out, apex)
	}
	return out
}

// zoneFor returns the zone holding name: the one with the longest apex.
func (s *Server) zoneFor(name string) *authZone {
	name = dns.CanonicalName(name)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for {
		if z := s.zones[name]; z != nil {
			return z
		}
		i, end := dns.NextLabel(name, 0)
		if end || i >= len(name) {
			return nil
		}
		name = name[i:]
	}
}

// TsigProvider verifies and signs TSIG with the secondaries' keys of the
// current snapshot. Set it as the dns.Server's TsigProvider.
func (s *Server) TsigProvider() dns.TsigProvider { return s.tsig }

// ServeDNS answers a query from the public network: responses are rate
// limited per client prefix.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	s.serve(w, r, true)
}

// ServeTrusted answers a query from the LAN or loopback, without rate
// limiting and with RA set: these clients may use the recursive side.
func (s *Server) ServeTrusted(w dns.ResponseWriter, r *dns.Msg) {
	s.serve(w, r, false)
}

func (s *Server) serve(w dns.ResponseWriter, r *dns.Msg, public bool) {
	if len(r.Question) == 1 && r.Opcode == dns.OpcodeQuery && isTransfer(r.Question[0].Qtype) {
		s.transfer(w, r)
		return
	}
	tcp := isTCP(w)
	resp := s.Reply(r, tcp, w.TsigStatus())
	resp.RecursionAvailable = !public
	if public && !tcp {
		switch s.rrl.decide(remoteAddr(w), s.opts.Now()) {
		case rrlDrop:
			return
		case rrlSlip:
			resp = slipped(r)
		}
	}
	if err := w.WriteMsg(resp); err != nil {
		s.log.Debug("dns write failed", slog.String("remote", w.RemoteAddr().String()), slog.Any("err", err))
	}
}

// Run sends NOTIFY messages until ctx ends. SetSnapshot queues them; without
// Run nothing is sent.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		for _, z := range s.takePending() {
			for _, sec := range z.secondaries {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s.notify(ctx, z, sec)
				}()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		}
	}
}

func isTCP(w dns.ResponseWriter) bool {
	_, ok := w.RemoteAddr().(*net.TCPAddr)
	return ok
}

// remoteAddr returns the client's address (unmapped), or the zero Addr.
func remoteAddr(w dns.ResponseWriter) netip.Addr {
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

func isTransfer(t uint16) bool { return t == dns.TypeAXFR || t == dns.TypeIXFR }
