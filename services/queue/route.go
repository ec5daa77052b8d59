package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
)

// Resolver is the DNS the queue uses; *net.Resolver satisfies it.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// failure is why a recipient was not delivered: a permanent one ends its
// delivery, a temporary one is retried.
type failure struct {
	Permanent bool
	Status    string // enhanced status code, e.g. "5.1.1"
	Text      string // for the DSN's Diagnostic-Code or the queue listing
	RemoteMTA string // the server that gave it, if any
	SMTP      bool   // Text is an SMTP reply ("smtp;" diagnostic type)
}

func (f *failure) Error() string { return f.Text }

func tempFail(status, format string, a ...any) *failure {
	return &failure{Status: status, Text: fmt.Sprintf(format, a...)}
}

func permFail(status, format string, a ...any) *failure {
	return &failure{Permanent: true, Status: status, Text: fmt.Sprintf(format, a...)}
}

// mxHosts returns the hosts to try for domain, best first: its MX records
// (equal preferences in random order, RFC 5321 section 5.1), or the domain
// itself when it has none.
func mxHosts(ctx context.Context, r Resolver, domain string) ([]string, *failure) {
	mxs, err := r.LookupMX(ctx, domain)
	if isNullMX(mxs) {
		return nil, permFail("5.1.10", "%s does not accept mail (null MX)", domain)
	}
	var dnsErr *net.DNSError
	switch {
	case err == nil && len(mxs) > 0:
	case err == nil || errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		// No MX: the domain's address records are its implicit MX.
		ips, err := r.LookupIPAddr(ctx, domain)
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound || err == nil && len(ips) == 0 {
			return nil, permFail("5.1.2", "domain %s not found", domain)
		}
		if err != nil {
			return nil, tempFail("4.4.3", "looking up %s: %v", domain, err)
		}
		return []string{domain}, nil
	default:
		return nil, tempFail("4.4.3", "looking up the MX of %s: %v", domain, err)
	}
	slices.SortStableFunc(mxs, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	shuffleEqual(mxs)
	var hosts []string
	for _, mx := range mxs {
		h := strings.TrimSuffix(mx.Host, ".")
		if h != "" && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts, nil
}

// isNullMX reports a null MX (RFC 7505): one record, preference 0, host ".".
func isNullMX(mxs []*net.MX) bool {
	return len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "")
}

// shuffleEqual randomizes the order of records with the same preference.
func shuffleEqual(mxs []*net.MX) {
	for i := 0; i < len(mxs); {
		j := i
		for j < len(mxs) && mxs[j].Pref == mxs[i].Pref {
			j++
		}
		group := mxs[i:j]
		rand.Shuffle(len(group), func(a, b int) { group[a], group[b] = group[b], group[a] })
		i = j
	}
}

// domainOf returns the lower-cased domain of an address.
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(addr[i+1:])
}
