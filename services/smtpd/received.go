package smtpd

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"net"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// receivedInfo is what goes into a Received header.
type receivedInfo struct {
	Helo     string
	Remote   net.Addr
	Hostname string
	TLS      *tls.ConnectionState // nil without TLS
	Auth     bool
	UTF8     bool
	ID       string
	To       []string
	Date     time.Time
}

// receivedHeader formats the trace header of RFC 5321 section 4.4, folded
// over several lines and ending in CRLF:
//
//	Received: from client.example ([192.0.2.1])
//		by mx.example.com with ESMTPS (using TLS 1.3 with cipher TLS_AES_128_GCM_SHA256)
//		id ABCDEFGHIJKLMNOP for <bob@example.com>;
//		Mon, 02 Jan 2006 15:04:05 +0000
//
// Only values this server produced or checked reach the header: the HELO
// name is reduced to domain characters, and the recipient is left out unless
// it is printable.
func receivedHeader(ri receivedInfo) string {
	var b strings.Builder
	b.WriteString("Received: from ")
	b.WriteString(cleanHelo(ri.Helo))
	b.WriteString(" (")
	b.WriteString(addressLiteral(ri.Remote))
	b.WriteString(")\r\n\tby ")
	b.WriteString(ri.Hostname)
	b.WriteString(" with ")
	b.WriteString(protocolName(ri.UTF8, ri.TLS != nil, ri.Auth))
	if ri.TLS != nil {
		b.WriteString(" (using ")
		b.WriteString(tls.VersionName(ri.TLS.Version))
		b.WriteString(" with cipher ")
		b.WriteString(tls.CipherSuiteName(ri.TLS.CipherSuite))
		b.WriteString(")")
	}
	b.WriteString("\r\n\tid ")
	b.WriteString(ri.ID)
	if len(ri.To) == 1 && printableAddress(ri.To[0], ri.UTF8) {
		b.WriteString(" for <")
		b.WriteString(ri.To[0])
		b.WriteString(">")
	}
	b.WriteString(";\r\n\t")
	b.WriteString(ri.Date.Format(time.RFC1123Z))
	b.WriteString("\r\n")
	return b.String()
}

// protocolName returns the "with" keyword registered by RFC 3848 and, for
// SMTPUTF8, by RFC 6531 section 3.7.4.2.
func protocolName(utf8, tls, auth bool) string {
	name := "ESMTP"
	if utf8 {
		name = "UTF8SMTP"
	}
	if tls {
		name += "S"
	}
	if auth {
		name += "A"
	}
	return name
}

// cleanHelo keeps the HELO argument if it only holds characters that can
// appear in a domain name or address literal, so that it cannot end the
// header line, open a comment or smuggle anything else into the header.
func cleanHelo(helo string) string {
	const max = 255
	if helo == "" || len(helo) > max {
		return "unknown"
	}
	for _, r := range helo {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("-._:[]", r):
		default:
			return "invalid"
		}
	}
	return helo
}

// addressLiteral formats the client's IP address as in RFC 5321 section
// 4.1.3: [192.0.2.1] or [IPv6:2001:db8::1].
func addressLiteral(a net.Addr) string {
	if a == nil {
		return "unknown"
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return "unknown"
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		return "[IPv6:" + ip.WithZone("").String() + "]"
	}
	return "[" + ip.String() + "]"
}

// printableAddress reports whether addr can be written into a header as it
// is: valid UTF-8 (non-ASCII only for SMTPUTF8 messages) without spaces,
// controls or angle brackets.
func printableAddress(addr string, utf8Allowed bool) bool {
	if len(addr) > 256 || !utf8.ValidString(addr) {
		return false
	}
	for _, r := range addr {
		if r == ' ' || r == '<' || r == '>' || !unicode.IsGraphic(r) || unicode.IsSpace(r) ||
			(r >= utf8.RuneSelf && !utf8Allowed) {
			return false
		}
	}
	return true
}

// newID returns a random transaction id for the Received header and the log.
func newID() string {
	var b [10]byte
	rand.Read(b[:]) // never fails; see crypto/rand.Read
	return base32.StdEncoding.EncodeToString(b[:])
}
