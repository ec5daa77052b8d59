package mailauth

import (
	"context"
	"errors"
	"net"
	"strings"
)

// Resolver is the DNS this package uses; *net.Resolver satisfies it.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// MapResolver is an in-memory Resolver for tests. Names are looked up
// without the trailing dot and case-insensitively. A name in Fail gives a
// temporary error (like SERVFAIL); any other missing name gives "not
// found" (like NXDOMAIN).
type MapResolver struct {
	TXT  map[string][]string
	IP   map[string][]net.IPAddr
	MX   map[string][]*net.MX
	Addr map[string][]string // reverse: IP address text to names
	Fail map[string]bool
}

// LookupTXT implements Resolver.
func (r MapResolver) LookupTXT(_ context.Context, name string) ([]string, error) {
	return lookupMap(r, r.TXT, name)
}

// LookupIPAddr implements Resolver.
func (r MapResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	return lookupMap(r, r.IP, host)
}

// LookupMX implements Resolver.
func (r MapResolver) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	return lookupMap(r, r.MX, name)
}

// LookupAddr implements Resolver.
func (r MapResolver) LookupAddr(_ context.Context, addr string) ([]string, error) {
	return lookupMap(r, r.Addr, addr)
}

func lookupMap[T any](r MapResolver, m map[string][]T, name string) ([]T, error) {
	key := strings.ToLower(strings.TrimSuffix(name, "."))
	if r.Fail[key] {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	if v, ok := m[key]; ok && len(v) > 0 {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// dnsErrors passes lookups to r and turns any error that is not a
// *net.DNSError into a temporary one.
type dnsErrors struct{ r Resolver }

func (d dnsErrors) LookupTXT(ctx context.Context, name string) ([]string, error) {
	v, err := d.r.LookupTXT(ctx, name)
	return v, asDNSError(err, name)
}

func (d dnsErrors) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	v, err := d.r.LookupIPAddr(ctx, host)
	return v, asDNSError(err, host)
}

func (d dnsErrors) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	v, err := d.r.LookupMX(ctx, name)
	return v, asDNSError(err, name)
}

func (d dnsErrors) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	v, err := d.r.LookupAddr(ctx, addr)
	return v, asDNSError(err, addr)
}

// asDNSError returns err as the *net.DNSError itself (the libraries test
// the type, not the chain), or as a temporary one.
func asDNSError(err error, name string) error {
	if err == nil {
		return nil
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr
	}
	return &net.DNSError{Err: err.Error(), Name: name, IsTemporary: true}
}
