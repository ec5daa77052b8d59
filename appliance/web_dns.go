package appliance

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"facteur/resolver"
	"facteur/resolver/zone"
	"facteur/webui"
)

// DNSRecords is what `facteur dns records DOMAIN` prints, record by
// record, each looked up live: through Options.Resolver when set (tests,
// a chosen resolver), else through the system's resolver (what the
// office's network sees).
func (b *webBackend) DNSRecords(ctx context.Context, domain string) (*webui.DNSReport, error) {
	path := ZonesPath(b.c.opts.DataDir)
	text, err := resolver.Records(path, domain)
	if err != nil {
		return nil, err
	}
	snap, err := zone.Load(path)
	if err != nil {
		return nil, err
	}
	d := snap.Domain(domain)
	if d == nil {
		return nil, fmt.Errorf("no DNS zone for %s", domain)
	}
	s := b.c.Settings()
	rep := &webui.DNSReport{Domain: domain, Own: s.DNSMode != "external", ZoneFile: text}
	var rrs []dns.RR
	for _, rr := range d.Records() {
		switch rr.Header().Rrtype {
		case dns.TypeSOA:
			continue // its serial moves; nothing to copy
		case dns.TypeNS:
			rep.NS = append(rep.NS, rr.(*dns.NS).Ns)
		}
		rrs = append(rrs, rr)
	}
	for _, rr := range rrs {
		h := rr.Header()
		isNS := slices.ContainsFunc(rep.NS, func(ns string) bool { return strings.EqualFold(ns, h.Name) })
		if isNS && (h.Rrtype == dns.TypeA || h.Rrtype == dns.TypeAAAA) && dns.IsSubDomain(dns.Fqdn(domain), h.Name) {
			rep.Glue = append(rep.Glue, rr.String())
		}
	}
	rep.Resolver = b.resolverAddr()
	rep.Records = liveCheck(ctx, rep.Resolver, rrs)
	return rep, nil
}

// resolverAddr is the DNS server the live check asks.
func (b *webBackend) resolverAddr() string {
	if b.c.opts.Resolver != "" {
		return b.c.opts.Resolver
	}
	if cfg, err := dns.ClientConfigFromFile("/etc/resolv.conf"); err == nil && len(cfg.Servers) > 0 {
		return net.JoinHostPort(cfg.Servers[0], cfg.Port)
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(b.c.opts.Ports.DNS))
}

// rdata is a record's data as text, without its header.
func rdata(rr dns.RR) string {
	return strings.TrimSpace(strings.TrimPrefix(rr.String(), rr.Header().String()))
}

// liveCheck asks addr for each record's name and type (once per pair) and
// compares the answers with the record.
func liveCheck(ctx context.Context, addr string, rrs []dns.RR) []webui.DNSRecord {
	type key struct {
		name string
		typ  uint16
	}
	answers := map[key][]string{}
	failed := map[key]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, rr := range rrs {
		k := key{strings.ToLower(rr.Header().Name), rr.Header().Rrtype}
		mu.Lock()
		_, seen := answers[k]
		answers[k] = []string{}
		mu.Unlock()
		if seen {
			continue
		}
		wg.Go(func() {
			got, err := lookup(ctx, addr, k.name, k.typ)
			mu.Lock()
			defer mu.Unlock()
			answers[k], failed[k] = got, err != nil
		})
	}
	wg.Wait()
	var out []webui.DNSRecord
	for _, rr := range rrs {
		h := rr.Header()
		k := key{strings.ToLower(h.Name), h.Rrtype}
		want, got := rdata(rr), answers[k]
		r := webui.DNSRecord{Name: h.Name, Type: dns.TypeToString[h.Rrtype], Value: want, Seen: strings.Join(got, " | ")}
		switch {
		case slices.ContainsFunc(got, func(g string) bool { return strings.EqualFold(g, want) }):
			r.Result = "ok"
		case len(got) == 0 || failed[k]:
			r.Result = "warn"
		default:
			r.Result = "bad"
		}
		out = append(out, r)
	}
	return out
}

// lookup asks addr for name/typ and returns the answers' data.
func lookup(ctx context.Context, addr, name string, typ uint16) ([]string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), typ)
	m.SetEdns0(4096, false)
	cl := &dns.Client{Timeout: 3 * time.Second}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < cl.Timeout {
		cl.Timeout = time.Until(dl)
	}
	resp, _, err := cl.ExchangeContext(ctx, m, addr)
	if err == nil && resp.Truncated {
		cl.Net = "tcp"
		resp, _, err = cl.ExchangeContext(ctx, m, addr)
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range resp.Answer {
		if rr.Header().Rrtype == typ {
			out = append(out, rdata(rr))
		}
	}
	return out, nil
}
