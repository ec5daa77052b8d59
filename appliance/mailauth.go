package appliance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"facteur/resolver/zone"
	"facteur/services/mailauth"
	"facteur/services/mailstore"
)

// This file holds the core's use of services/mailauth: each local domain's
// DKIM keys (made with the domain, kept in the store, published in its
// zone), signing outbound mail, and checking inbound mail.

// dkimBlob is where a domain's DKIM keys are kept.
func dkimBlob(domain string) string { return "dkim/" + mailstore.NormalizeAddress(domain) }

// dkimKeys returns domain's DKIM keys; with create, a domain without keys
// gets a new pair (ed25519 and rsa-2048).
func (c *Core) dkimKeys(ctx context.Context, domain string, create bool) ([]mailauth.Key, error) {
	raw, err := c.store.Blob(ctx, dkimBlob(domain))
	if err == nil {
		var keys []mailauth.Key
		if err := json.Unmarshal(raw, &keys); err != nil {
			return nil, err
		}
		return keys, nil
	}
	if !errors.Is(err, mailstore.ErrNotFound) || !create {
		return nil, err
	}
	keys, err := mailauth.NewKeys(mailstore.NormalizeAddress(domain), time.Now())
	if err != nil {
		return nil, err
	}
	raw, err = json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	if err := c.store.SetBlob(ctx, dkimBlob(domain), raw); err != nil {
		return nil, err
	}
	c.log.Info("DKIM keys created", "domain", domain, "selectors", keys[0].Selector+" "+keys[1].Selector)
	return keys, nil
}

// dkimSign signs mail from a local domain with that domain's keys.
func (c *Core) dkimSign(ctx context.Context, from string, msg io.Reader) (string, error) {
	_, domain, ok := strings.Cut(mailstore.NormalizeAddress(from), "@")
	if !ok {
		return "", nil // bounces (null sender) go unsigned
	}
	keys, err := c.dkimKeys(ctx, domain, false)
	if errors.Is(err, mailstore.ErrNotFound) {
		return "", nil // not one of ours (an alias forwarding out)
	}
	if err != nil {
		return "", err
	}
	return mailauth.Sign(msg, keys, time.Now())
}

// inbound returns the MX port's message authentication.
func (c *Core) inbound() *inboundCheck {
	return &inboundCheck{
		verifier: &mailauth.Verifier{Hostname: c.Settings().Hostname, Resolver: c.resolver()},
		spoolDir: filepath.Join(c.opts.DataDir, "spool"),
		log:      c.log.With("service", "mailauth"),
	}
}

// dkimRecords are the DKIM TXT records of a domain, with keys made the
// first time.
func (c *Core) dkimRecords(ctx context.Context, domain string) ([]zone.DKIMKey, error) {
	keys, err := c.dkimKeys(ctx, domain, true)
	if err != nil {
		return nil, fmt.Errorf("DKIM keys of %s: %w", domain, err)
	}
	var out []zone.DKIMKey
	for _, k := range keys {
		_, txt := k.Record()
		out = append(out, zone.DKIMKey{Selector: k.Selector, Value: txt})
	}
	return out, nil
}
