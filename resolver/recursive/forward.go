package recursive

import (
	"context"
	"net/netip"

	"github.com/miekg/dns"
)

// forward asks the forwarders in order (RD set) until one gives a usable
// reply. A forwarder speaks for the whole tree, so its answers are taken as
// authoritative; its CNAME chains are cached link by link.
func (r *Resolver) forward(ctx context.Context, st *walk, forwarders []netip.AddrPort, name string, qtype uint16) (result, error) {
	for _, a := range forwarders {
		if err := ctx.Err(); err != nil {
			return result{}, err
		}
		if st.budget <= 0 {
			return result{}, errBudget
		}
		st.budget--
		resp, err := r.exchange(ctx, a, name, qtype, true)
		if err != nil {
			continue
		}
		rep := classify(resp, name, qtype, ".", true)
		if rep.kind == kindLame || rep.kind == kindReferral {
			continue
		}
		r.store(rep, name, qtype)
		if rep.kind == kindNXDomain {
			return negative(dns.RcodeNameError, rep.soa), nil
		}
		return answerFor(rep, qtype), nil
	}
	return result{}, errNoServers
}
