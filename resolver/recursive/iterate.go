package recursive

import (
	"context"
	"math/rand/v2"
	"net/netip"

	"github.com/miekg/dns"
)

// zoneCut is a zone and the names of its servers.
type zoneCut struct {
	name    string
	servers []string     // NS target names
	hints   []netip.Addr // root hint addresses, for the root without cached NS
}

// iterate walks down from the closest known zone cut to the servers of
// name's zone, revealing one label at a time (RFC 9156), and caches what
// it learns.
func (r *Resolver) iterate(ctx context.Context, st *walk, depth int, name string, qtype uint16) (result, error) {
	cut := r.closestCut(name)
	labels := dns.CountLabel(name)
	reveal := dns.CountLabel(cut.name) + 1
	for range maxSteps {
		qn, qt := r.nextQuestion(name, qtype, cut.name, reveal, labels)
		rep, err := r.ask(ctx, st, depth, cut, qn, qt)
		if err != nil {
			return result{}, err
		}
		r.store(rep, qn, qt)
		switch {
		case rep.kind == kindReferral:
			cut = zoneCut{name: rep.child, servers: nsTargets(rep.ns)}
			reveal = dns.CountLabel(cut.name) + 1
		case rep.kind == kindNXDomain:
			// Nothing exists below a name that does not exist (RFC 8020).
			return negative(dns.RcodeNameError, rep.soa), nil
		case qn != name:
			reveal++ // the hidden name exists: show one more label
		default:
			return answerFor(rep, qtype), nil
		}
	}
	return result{}, errTooDeep
}

// nextQuestion returns the name and type to send: the full question once
// minimisation is done or off, else the first `reveal` labels of name
// from the right with type A (RFC 9156 section 3).
func (r *Resolver) nextQuestion(name string, qtype uint16, cut string, reveal, labels int) (string, uint16) {
	if r.opts.NoQNAMEMinimisation || reveal >= labels || reveal-dns.CountLabel(cut) > maxMinimise {
		return name, qtype
	}
	idx := dns.Split(name)
	return name[idx[labels-reveal]:], dns.TypeA
}

// closestCut returns the deepest zone above name whose NS set is cached, or
// the root from the hints.
func (r *Resolver) closestCut(name string) zoneCut {
	now := r.opts.Now()
	for z := name; ; {
		if e := r.cache.get(keyOf(z, dns.TypeNS), now, trustReferral, false); e != nil && !e.negative {
			return zoneCut{name: z, servers: nsTargets(e.rrs)}
		}
		p, ok := parent(z)
		if !ok {
			break
		}
		z = p
	}
	cut := zoneCut{name: "."}
	for _, h := range r.opts.RootHints {
		cut.hints = append(cut.hints, h.Addr)
	}
	return cut
}

// ask sends (qn, qt) to the servers of cut until one gives a usable reply:
// first those whose addresses are known, then those whose addresses must be
// looked up (glueless delegations).
func (r *Resolver) ask(ctx context.Context, st *walk, depth int, cut zoneCut, qn string, qt uint16) (reply, error) {
	known, unknown := r.serverAddrs(cut)
	for _, a := range known {
		if rep, err := r.try(ctx, st, a, qn, qt, cut.name); err != nil || rep.kind != kindLame {
			return rep, err
		}
	}
	for _, ns := range unknown {
		for _, a := range r.lookupServer(ctx, st, depth, ns) {
			if rep, err := r.try(ctx, st, a, qn, qt, cut.name); err != nil || rep.kind != kindLame {
				return rep, err
			}
		}
	}
	return reply{}, errNoServers
}

// try sends one query; a transport failure counts as a lame reply.
func (r *Resolver) try(ctx context.Context, st *walk, a netip.AddrPort, qn string, qt uint16, cut string) (reply, error) {
	if err := ctx.Err(); err != nil {
		return reply{}, err
	}
	if st.budget <= 0 {
		return reply{}, errBudget
	}
	st.budget--
	resp, err := r.exchange(ctx, a, qn, qt, false)
	if err != nil {
		return reply{kind: kindLame}, nil
	}
	return classify(resp, qn, qt, cut, false), nil
}

// serverAddrs splits cut's servers into the addresses known (from hints or
// the cache, glue included), shuffled, and the names without one.
func (r *Resolver) serverAddrs(cut zoneCut) (known []netip.AddrPort, unknown []string) {
	for _, h := range cut.hints {
		known = append(known, netip.AddrPortFrom(h, r.opts.Port))
	}
	now := r.opts.Now()
	for _, ns := range cut.servers {
		found := false
		for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
			e := r.cache.get(keyOf(ns, t), now, trustGlue, false)
			if e == nil || e.negative {
				continue
			}
			for _, rr := range e.rrs {
				if a, ok := addrOf(rr); ok {
					known = append(known, netip.AddrPortFrom(a, r.opts.Port))
					found = true
				}
			}
		}
		if !found {
			unknown = append(unknown, ns)
		}
	}
	rand.Shuffle(len(known), func(i, j int) { known[i], known[j] = known[j], known[i] })
	rand.Shuffle(len(unknown), func(i, j int) { unknown[i], unknown[j] = unknown[j], unknown[i] })
	return known, unknown
}

// lookupServer resolves a name server's addresses (a glueless
// delegation): A, or AAAA when it has no A. Loops and deep nesting are cut
// short.
func (r *Resolver) lookupServer(ctx context.Context, st *walk, depth int, ns string) []netip.AddrPort {
	if depth >= maxDepth || st.busy[ns] {
		return nil
	}
	st.busy[ns] = true
	defer delete(st.busy, ns)
	var out []netip.AddrPort
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		ans, err := r.resolve(ctx, st, depth+1, ns, qtype)
		if err != nil {
			continue
		}
		for _, rr := range ans.Answer {
			if a, ok := addrOf(rr); ok {
				out = append(out, netip.AddrPortFrom(a, r.opts.Port))
			}
		}
		if len(out) > 0 {
			break
		}
	}
	return out
}

// exchange sends one query with a fresh random ID and EDNS0, over UDP and
// again over TCP if the reply is truncated.
func (r *Resolver) exchange(ctx context.Context, a netip.AddrPort, qn string, qt uint16, rd bool) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.Id = dns.Id()
	m.RecursionDesired = rd
	m.Question = []dns.Question{{Name: qn, Qtype: qt, Qclass: dns.ClassINET}}
	m.SetEdns0(ednsSize, false)
	resp, err := r.send(ctx, m, a, false)
	if err == nil && resp.Truncated {
		resp, err = r.send(ctx, m, a, true)
	}
	return resp, err
}

func (r *Resolver) send(ctx context.Context, m *dns.Msg, a netip.AddrPort, tcp bool) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.QueryTimeout)
	defer cancel()
	resp, err := r.opts.Transport.Exchange(ctx, m, a, tcp)
	if err != nil {
		return nil, err
	}
	if !matches(m, resp) {
		return nil, errMismatch
	}
	return resp, nil
}

// store caches what a classified reply may teach.
func (r *Resolver) store(rep reply, qn string, qt uint16) {
	now := r.opts.Now()
	switch rep.kind {
	case kindAnswer:
		for _, set := range groupRRsets(rep.answer) {
			r.cache.putRRset(set, trustAnswer, now)
		}
	case kindNoData:
		r.cache.putNegative(qn, int32(qt), rep.soa, now)
	case kindNXDomain:
		r.cache.putNegative(qn, typeNXDOMAIN, rep.soa, now)
	case kindReferral:
		r.cache.putRRset(rep.ns, trustReferral, now)
		for _, set := range groupRRsets(rep.glue) {
			r.cache.putRRset(set, trustGlue, now)
		}
	}
}

// answerFor turns an answer or NODATA reply for the full question into a
// result; a CNAME chain is followed from its first link (the rest is cached).
func answerFor(rep reply, qt uint16) result {
	if rep.kind == kindNoData {
		return negative(dns.RcodeSuccess, rep.soa)
	}
	if cn, ok := rep.answer[0].(*dns.CNAME); ok && qt != dns.TypeCNAME {
		return result{rcode: dns.RcodeSuccess, rrs: rep.answer[:1], cname: dns.CanonicalName(cn.Target)}
	}
	return result{rcode: dns.RcodeSuccess, rrs: rep.answer}
}

func negative(rcode int, soa *dns.SOA) result {
	res := result{rcode: rcode}
	if soa != nil {
		res.ns = []dns.RR{soa}
	}
	return res
}

// groupRRsets splits records into RRsets by owner and type.
func groupRRsets(rrs []dns.RR) [][]dns.RR {
	type key struct {
		name string
		t    uint16
	}
	idx := map[key]int{}
	var out [][]dns.RR
	for _, rr := range rrs {
		k := key{dns.CanonicalName(rr.Header().Name), rr.Header().Rrtype}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], rr)
	}
	return out
}

func nsTargets(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		if ns, ok := rr.(*dns.NS); ok {
			out = append(out, dns.CanonicalName(ns.Ns))
		}
	}
	return out
}

func addrOf(rr dns.RR) (netip.Addr, bool) {
	switch v := rr.(type) {
	case *dns.A:
		a, ok := netip.AddrFromSlice(v.A.To4())
		return a, ok
	case *dns.AAAA:
		a, ok := netip.AddrFromSlice(v.AAAA.To16())
		return a, ok
	}
	return netip.Addr{}, false
}

// parent returns the name one label up; false for the root.
func parent(name string) (string, bool) {
	if name == "." || name == "" {
		return "", false
	}
	i, end := dns.NextLabel(name, 0)
	if end || i >= len(name) {
		return ".", true
	}
	return name[i:], true
}
