package auth

import (
	"context"
	"log/slog"
	"time"

	"github.com/miekg/dns"

	"facteur/resolver/zone"
)

// queueNotify marks z for NOTIFY; a newer version of the same zone replaces
// a pending one.
func (s *Server) queueNotify(z *authZone) {
	if len(z.secondaries) == 0 {
		return
	}
	s.notifyMu.Lock()
	s.pending[z.apex] = z
	s.notifyMu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Server) takePending() []*authZone {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	out := make([]*authZone, 0, len(s.pending))
	for apex, z := range s.pending {
		out = append(out, z)
		delete(s.pending, apex)
	}
	return out
}

// notify sends one NOTIFY (RFC 1996) for z to sec, signed with the
// secondary's TSIG key when it has one, retrying with a doubling timeout
// until the secondary answers.
func (s *Server) notify(ctx context.Context, z *authZone, sec zone.Secondary) {
	addr := sec.NotifyAddr().String()
	timeout := s.opts.NotifyTimeout
	for try := 1; try <= s.opts.NotifyTries; try++ {
		m := new(dns.Msg)
		m.SetNotify(z.apex)
		m.Authoritative = true
		m.Answer = []dns.RR{z.soa}
		c := &dns.Client{Net: "udp", Timeout: timeout}
		if sec.TSIGKey != "" {
			c.TsigProvider = s.tsig
			m.SetTsig(dns.CanonicalName(sec.TSIGKey), sec.Algorithm(), 300, s.opts.Now().Unix())
		}
		resp, _, err := c.ExchangeContext(ctx, m, addr)
		if err == nil && resp.Opcode == dns.OpcodeNotify && resp.Rcode == dns.RcodeSuccess {
			s.log.Info("dns notify acknowledged", slog.String("zone", z.apex), slog.String("secondary", addr), slog.Uint64("serial", uint64(z.soa.Serial)))
			return
		}
		if ctx.Err() != nil {
			return
		}
		s.log.Debug("dns notify unanswered", slog.String("zone", z.apex), slog.String("secondary", addr), slog.Int("try", try), slog.Any("err", err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(timeout / 2):
		}
		timeout *= 2
	}
	s.log.Warn("dns notify gave up", slog.String("zone", z.apex), slog.String("secondary", addr))
}
