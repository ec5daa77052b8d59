package mailauth

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"
)

// splitHeader cuts a message at its first empty line, the way
// StripAuthResults does: header, then the empty line and body.
func splitHeader(msg []byte) (header, rest []byte) {
	i := 0
	for i < len(msg) {
		j := bytes.IndexByte(msg[i:], '\n')
		if j < 0 {
			return msg, nil
		}
		line := msg[i : i+j+1]
		if string(line) == "\n" || string(line) == "\r\n" {
			return msg[:i], msg[i:]
		}
		i += j + 1
	}
	return msg, nil
}

func FuzzStripAuthResults(f *testing.F) {
	f.Add([]byte("Authentication-Results: mx.facteur.test; spf=pass\r\nA: 1\r\n\r\nbody\r\n"))
	f.Add([]byte("A: 1\nAuthentication-Results:\n (c) MX.FACTEUR.TEST;\n\tdkim=pass\nB: 2\n\nAuthentication-Results: mx.facteur.test\n"))
	f.Add([]byte("Authentication-Results: mx.example.net; none\r\n\r\n"))
	f.Add([]byte("Authentication-Results: \"mx.facteur.test\"; none\r\n"))
	f.Add([]byte(" lead\r\nAuthentication-Results : mx.facteur.test\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		out, err := io.ReadAll(StripAuthResults(bytes.NewReader(msg), ourHost))
		if err != nil {
			t.Fatal(err)
		}
		inHead, inRest := splitHeader(msg)
		outHead, outRest := splitHeader(out)
		if !bytes.Equal(inRest, outRest) {
			t.Fatalf("body changed: %q became %q", inRest, outRest)
		}
		if len(outHead) > len(inHead) {
			t.Fatalf("header grew: %q became %q", inHead, outHead)
		}
		h := &header{Fields: parseFields(outHead)}
		for _, fl := range h.Get("Authentication-Results") {
			// go-msgauth's parser, where it can read the field, must not
			// find our id either.
			id, _, err := authres.Parse(fl.Value())
			if isOurAuthResults(fl.Raw, ourHost) || (err == nil && strings.EqualFold(id, ourHost)) {
				t.Fatalf("field %q with our authserv-id kept", fl.Raw)
			}
		}
	})
}

// fuzzResolver holds example.org's records, in memory so fuzzing is quick
// and deterministic.
func fuzzResolver(ks []Key) MapResolver {
	r := MapResolver{
		TXT: map[string][]string{
			"example.org":        {"v=spf1 ip4:" + senderIP + " -all"},
			"_dmarc.example.org": {"v=DMARC1; p=reject; sp=quarantine; pct=50"},
			"example.com":        {"v=spf1 a mx include:example.org ptr exists:%{i}.example.org ~all"},
			"_dmarc.example.com": {"v=DMARC1; p=quarantine; adkim=s; aspf=s"},
		},
		IP:   map[string][]net.IPAddr{"example.com": {{IP: net.ParseIP(senderIP)}}},
		MX:   map[string][]*net.MX{"example.com": {{Host: "mx.example.com.", Pref: 10}}},
		Fail: map[string]bool{"_dmarc.example.net": true},
	}
	for _, k := range append(ks, relayKey(ks, "relay1.example.net"), relayKey(ks, "relay2.example.net")) {
		name, text := k.Record()
		r.TXT[strings.TrimSuffix(name, ".")] = []string{text}
	}
	return r
}

func FuzzCheck(f *testing.F) {
	ks := keys(f)
	msg := message("alice@example.org", lunchBody)
	sig, err := Sign(strings.NewReader(msg), ks, testNow)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(sig + msg))
	f.Add([]byte(msg))
	arc, err := os.ReadFile("testdata/arc-chain.eml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(arc)
	f.Add([]byte("From: a@example.com, b@example.net\nDKIM-Signature: v=1; d=example.org; s=x\n\nbody"))
	f.Add([]byte("From: =?koi8-r?b?8NLJ1yE=?= <a@example.org>>\r\nDKIM-Signature: v=1; a=rsa-sha256; l=3\r\n\r\n"))
	v := &Verifier{
		Hostname: ourHost,
		Resolver: fuzzResolver(keys(f)),
		Now:      func() time.Time { return testNow },
		Rand:     func(n int) int { return n / 2 },
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		in := Input{IP: net.ParseIP(senderIP), Helo: "mx.example.com", MailFrom: "a@example.com"}
		vd, err := v.Check(context.Background(), in, bytes.NewReader(msg))
		if err != nil {
			return
		}
		// Whatever the message, the field we write is one field.
		lines := strings.Split(strings.TrimSuffix(vd.Header, "\r\n"), "\r\n")
		if !strings.HasPrefix(vd.Header, "Authentication-Results: "+ourHost+";") || !strings.HasSuffix(vd.Header, "\r\n") {
			t.Fatalf("header %q", vd.Header)
		}
		for _, l := range lines[1:] {
			if !strings.HasPrefix(l, "\t") || strings.ContainsAny(l, "\r\n") {
				t.Fatalf("header %q: line %q is not a continuation", vd.Header, l)
			}
		}
		if vd.Action != Accept && vd.DMARC != "fail" {
			t.Fatalf("action %v with DMARC %q", vd.Action, vd.DMARC)
		}
	})
}

// FuzzSignVerify signs arbitrary messages (with CRLF line endings, as
// smtpd accepts them) and checks that go-msgauth's verifier, through Check,
// accepts every signature we make. It uses the Ed25519 key only, for speed:
// canonicalization, the part under test, is the same for RSA.
func FuzzSignVerify(f *testing.F) {
	ks := keys(f)[:1]
	f.Add([]byte(message("alice@example.org", lunchBody)))
	f.Add([]byte("From: a@example.org\nFrom: b@example.org\nTo:\n  x\n\n \t\n"))
	f.Add([]byte("FROM : a@example.org\n\n"))
	v := &Verifier{Hostname: ourHost, Resolver: fuzzResolver(keys(f)), Now: func() time.Time { return testNow }}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s := strings.ReplaceAll(string(raw), "\r", "")
		msg := strings.ReplaceAll(s, "\n", "\r\n")
		sig, err := Sign(strings.NewReader(msg), ks, testNow)
		if err != nil {
			return
		}
		vd, err := v.Check(context.Background(), Input{}, strings.NewReader(sig+msg))
		if err != nil {
			t.Fatalf("Check of a message we signed: %v", err)
		}
		if len(vd.DKIM) < 1 {
			t.Fatalf("got DKIM %+v, want our signature", vd.DKIM)
		}
		for _, r := range vd.DKIM[:1] {
			if r.Result != "pass" {
				t.Fatalf("signature %+v of message %q does not verify:\n%s", r, msg, sig)
			}
		}
	})
}
