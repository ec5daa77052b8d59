package recursive

import (
	"strings"

	"github.com/miekg/dns"
)

// kind is what a reply means for the question asked.
type kind int

const (
	kindLame     kind = iota // unusable: try another server
	kindAnswer               // records (or a CNAME chain) for the name
	kindNoData               // the name exists without that type
	kindNXDomain             // the name does not exist
	kindReferral             // go to a child zone's servers
)

// reply is a classified reply, holding only what the sender may speak for.
type reply struct {
	kind   kind
	answer []dns.RR // CNAME chain, then the records asked for, all in bailiwick
	soa    *dns.SOA
	child  string   // referral: the child zone
	ns     []dns.RR // referral: the child's NS set
	glue   []dns.RR // referral: addresses of NS targets, in bailiwick
}

// classify reads a reply to (qn, qt) from a server of zone cut. Only
// records inside cut (the server's bailiwick, RFC 2181 section 5.4.1) are
// kept. recursive is set for forwarders, whose NODATA need not be
// authoritative.
func classify(resp *dns.Msg, qn string, qt uint16, cut string, recursive bool) reply {
	if resp == nil || !resp.Response || resp.Truncated || resp.Opcode != dns.OpcodeQuery || len(resp.Question) != 1 {
		return reply{kind: kindLame}
	}
	q := resp.Question[0]
	if !strings.EqualFold(q.Name, qn) || q.Qtype != qt || q.Qclass != dns.ClassINET {
		return reply{kind: kindLame}
	}
	if resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError {
		return reply{kind: kindLame}
	}
	if chain := followChain(resp.Answer, qn, qt, cut); len(chain) > 0 {
		return reply{kind: kindAnswer, answer: chain}
	}
	soa := negativeSOA(resp.Ns, qn, cut)
	if resp.Rcode == dns.RcodeNameError {
		return reply{kind: kindNXDomain, soa: soa}
	}
	if soa == nil && !recursive {
		if ref, ok := referral(resp, qn, cut); ok {
			return ref
		}
	}
	if resp.Authoritative || soa != nil || recursive {
		return reply{kind: kindNoData, soa: soa}
	}
	return reply{kind: kindLame} // not authoritative, no referral: lame or upward
}

// followChain returns the CNAMEs from qn on and the RRset of type qt at
// the end of the chain, keeping to records inside cut.
func followChain(answer []dns.RR, qn string, qt uint16, cut string) []dns.RR {
	var chain []dns.RR
	cur := dns.CanonicalName(qn)
	for range maxCNAME {
		if set := rrset(answer, cur, qt, cut); len(set) > 0 {
			return append(chain, set...)
		}
		cn := rrset(answer, cur, dns.TypeCNAME, cut)
		if len(cn) == 0 {
			break
		}
		chain = append(chain, cn[0])
		cur = dns.CanonicalName(cn[0].(*dns.CNAME).Target)
	}
	return chain
}

// rrset returns the records of type t (any type for ANY) owned by name, if
// name lies inside cut.
func rrset(rrs []dns.RR, name string, t uint16, cut string) []dns.RR {
	if !dns.IsSubDomain(cut, name) {
		return nil
	}
	var out []dns.RR
	for _, rr := range rrs {
		h := rr.Header()
		if h.Class != dns.ClassINET || !strings.EqualFold(h.Name, name) {
			continue
		}
		if h.Rrtype == t || (t == dns.TypeANY && h.Rrtype != dns.TypeCNAME) {
			out = append(out, rr)
		}
	}
	return out
}

// negativeSOA returns the authority section's SOA if it is the SOA of a
// zone inside cut that holds qn.
func negativeSOA(ns []dns.RR, qn, cut string) *dns.SOA {
	for _, rr := range ns {
		soa, ok := rr.(*dns.SOA)
		if !ok || soa.Hdr.Class != dns.ClassINET {
			continue
		}
		owner := dns.CanonicalName(soa.Hdr.Name)
		if dns.IsSubDomain(cut, owner) && dns.IsSubDomain(owner, dns.CanonicalName(qn)) {
			return soa
		}
	}
	return nil
}

// referral recognises a delegation: NS records for a zone strictly below
// cut that holds qn. Glue is kept only for the NS targets and only inside
// cut: an address for a name outside the sender's zone is ignored.
func referral(resp *dns.Msg, qn, cut string) (reply, bool) {
	qn = dns.CanonicalName(qn)
	var child string
	var ns []dns.RR
	for _, rr := range resp.Ns {
		n, ok := rr.(*dns.NS)
		if !ok || n.Hdr.Class != dns.ClassINET {
			continue
		}
		owner := dns.CanonicalName(n.Hdr.Name)
		if owner == dns.CanonicalName(cut) || !dns.IsSubDomain(cut, owner) || !dns.IsSubDomain(owner, qn) {
			continue
		}
		if child == "" {
			child = owner
		}
		if owner == child {
			ns = append(ns, n)
		}
	}
	if child == "" {
		return reply{}, false
	}
	targets := map[string]bool{}
	for _, rr := range ns {
		targets[dns.CanonicalName(rr.(*dns.NS).Ns)] = true
	}
	var glue []dns.RR
	for _, rr := range resp.Extra {
		h := rr.Header()
		name := dns.CanonicalName(h.Name)
		if (h.Rrtype == dns.TypeA || h.Rrtype == dns.TypeAAAA) && h.Class == dns.ClassINET && targets[name] && dns.IsSubDomain(cut, name) {
			glue = append(glue, rr)
		}
	}
	return reply{kind: kindReferral, child: child, ns: ns, glue: glue}, true
}
