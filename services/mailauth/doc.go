// Package mailauth owns message authentication: it signs outbound mail with
// DKIM and checks inbound mail with SPF, DKIM and DMARC, then writes the
// outcome as an Authentication-Results header field.
//
// Implemented:
//
//   - DKIM signing and verification (RFC 6376, RFC 8301 key sizes and
//     hashes, RFC 8463 Ed25519). Signing is our own code (relaxed/relaxed,
//     sha256) so the signature's t= comes from the caller's clock and the
//     field folds under 78 columns; verification uses
//     github.com/emersion/go-msgauth/dkim.
//   - SPF (RFC 7208) through blitiri.com.ar/go/spf, with the HELO identity
//     for the null sender (RFC 7208 section 2.4).
//   - DMARC (RFC 7489): policy discovery with the organizational-domain
//     fallback (section 6.6.3, public suffix list from
//     golang.org/x/net/publicsuffix), relaxed and strict alignment, p, sp
//     and pct (section 6.6.4). Records are parsed with go-msgauth/dmarc.
//   - ARC chain validation (RFC 8617) as a receiver, reported as arc= but
//     not used to override DMARC (that needs a list of trusted sealers).
//   - Authentication-Results (RFC 8601): the field we add, and
//     StripAuthResults, which removes forged fields that claim our
//     authserv-id (section 5).
//
// Not implemented: ARC sealing, DMARC reports (rua/ruf), the np tag of
// RFC 9091, and DKIM's l= tag (signatures using it fail verification).
//
// Limits that keep a hostile message cheap to check: a header of at most
// 1 MiB, at most 8 DKIM signatures verified (the rest are neutral), DMARC
// for at most 10 From domains, and DKIM signatures whose fields are folded
// or repeated pathologically get permerror instead of being verified.
//
// All DNS goes through the Resolver interface; *net.Resolver satisfies it
// and MapResolver is an in-memory one for tests.
package mailauth
