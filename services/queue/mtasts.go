package queue

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Policy is an MTA-STS policy (RFC 8461 section 3.2).
type Policy struct {
	Mode   string   `json:"mode"` // enforce, testing or none
	MX     []string `json:"mx"`   // host names, "*.example.com" wildcards
	MaxAge int64    `json:"max_age"`
}

// ParsePolicy parses a policy file: "key: value" lines (CRLF or LF).
func ParsePolicy(b []byte) (*Policy, error) {
	if len(b) > 64<<10 {
		return nil, errors.New("mta-sts: policy too large")
	}
	var p Policy
	version := ""
	maxAge := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("mta-sts: bad line %q", line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "version":
			version = v
		case "mode":
			p.Mode = v
		case "mx":
			p.MX = append(p.MX, strings.ToLower(strings.TrimSuffix(v, ".")))
		case "max_age":
			maxAge = v
		}
	}
	if version != "STSv1" {
		return nil, fmt.Errorf("mta-sts: version %q, want STSv1", version)
	}
	switch p.Mode {
	case "enforce", "testing":
		if len(p.MX) == 0 {
			return nil, errors.New("mta-sts: no mx in an enforce or testing policy")
		}
	case "none":
	default:
		return nil, fmt.Errorf("mta-sts: bad mode %q", p.Mode)
	}
	n, err := strconv.ParseInt(maxAge, 10, 64)
	if err != nil || n < 0 || n > 31557600 || len(maxAge) > 10 {
		return nil, fmt.Errorf("mta-sts: bad max_age %q", maxAge)
	}
	p.MaxAge = n
	return &p, nil
}

// Matches reports whether the policy allows MX host (RFC 8461 section
// 4.1): an exact name, or "*.domain" for exactly one more label.
func (p *Policy) Matches(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, mx := range p.MX {
		if rest, ok := strings.CutPrefix(mx, "*."); ok {
			if label, parent, ok := strings.Cut(host, "."); ok && label != "" && parent == rest {
				return true
			}
		} else if host == mx {
			return true
		}
	}
	return false
}

// stsRecord is a cached policy.
type stsRecord struct {
	ID      string    `json:"id"`
	Policy  *Policy   `json:"policy"`
	Expires time.Time `json:"expires"`
}

// stsCache fetches and caches MTA-STS policies, in memory and in the store
// (so a restart keeps them, as RFC 8461 section 5 wants).
type stsCache struct {
	q  *Queue
	mu sync.Mutex
	m  map[string]*stsRecord
}

func newSTSCache(q *Queue) *stsCache { return &stsCache{q: q, m: map[string]*stsRecord{}} }

// policy returns domain's policy, or nil when it has none (or it cannot be
// fetched and none is cached: RFC 8461 then delivers as without MTA-STS).
func (c *stsCache) policy(ctx context.Context, domain string) *Policy {
	now := c.q.opts.Now()
	cached := c.load(ctx, domain)
	if cached != nil && now.After(cached.Expires) {
		cached = nil
	}
	id, err := c.lookupID(ctx, domain)
	if err != nil || id == "" {
		if cached != nil {
			return cached.Policy
		}
		return nil
	}
	if cached != nil && cached.ID == id {
		return cached.Policy
	}
	p, err := c.fetch(ctx, domain)
	if err != nil {
		c.q.log.Warn("MTA-STS policy fetch failed", "domain", domain, "err", err)
		if cached != nil {
			return cached.Policy
		}
		return nil
	}
	c.save(ctx, domain, &stsRecord{ID: id, Policy: p, Expires: now.Add(time.Duration(p.MaxAge) * time.Second)})
	return p
}

// lookupID returns the id of domain's "v=STSv1" TXT record, "" if none.
func (c *stsCache) lookupID(ctx context.Context, domain string) (string, error) {
	txts, err := c.q.opts.Resolver.LookupTXT(ctx, "_mta-sts."+domain)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var ids []string
	for _, t := range txts {
		if !strings.HasPrefix(t, "v=STSv1") {
			continue
		}
		for _, f := range strings.Split(t, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(f), "="); ok && k == "id" {
				ids = append(ids, v)
			}
		}
	}
	if len(ids) != 1 {
		return "", nil // none, or several: no policy (RFC 8461 section 3.1)
	}
	return ids[0], nil
}

// fetch gets https://mta-sts.<domain>/.well-known/mta-sts.txt with a
// verified certificate, no redirects.
func (c *stsCache) fetch(ctx context.Context, domain string) (*Policy, error) {
	host := "mta-sts." + domain
	port := c.q.opts.HTTPSPort
	if port == 0 {
		port = 443
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			ips, f := c.q.addresses(ctx, host)
			if f != nil {
				return nil, f
			}
			var d net.Dialer
			return d.DialContext(ctx, network, net.JoinHostPort(ips[0].String(), strconv.Itoa(port)))
		},
		TLSClientConfig:   &tls.Config{RootCAs: c.q.opts.RootCAs, ServerName: host, MinVersion: tls.VersionTLS12},
		DisableKeepAlives: true,
	}
	client := &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, "GET", "https://"+host+"/.well-known/mta-sts.txt", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("mta-sts: %s answered %s", host, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		return nil, fmt.Errorf("mta-sts: %s sent %q, want text/plain", host, ct)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10+1))
	if err != nil {
		return nil, err
	}
	return ParsePolicy(b)
}

func (c *stsCache) load(ctx context.Context, domain string) *stsRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.m[domain]; ok {
		return r
	}
	raw, err := c.q.opts.Store.Blob(ctx, "mtasts/"+domain)
	if err != nil {
		return nil
	}
	var r stsRecord
	if json.Unmarshal(raw, &r) != nil || r.Policy == nil {
		return nil
	}
	c.m[domain] = &r
	return &r
}

func (c *stsCache) save(ctx context.Context, domain string, r *stsRecord) {
	c.mu.Lock()
	c.m[domain] = r
	c.mu.Unlock()
	raw, _ := json.Marshal(r)
	if err := c.q.opts.Store.SetBlob(ctx, "mtasts/"+domain, raw); err != nil {
		c.q.log.Warn("save MTA-STS policy", "domain", domain, "err", err)
	}
}
