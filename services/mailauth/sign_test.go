package mailauth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

func TestNewKeys(t *testing.T) {
	ks, err := NewKeys("example.org", testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ sel, alg string }{{"f20261123e", "ed25519"}, {"f20261123r", "rsa"}}
	if len(ks) != len(want) {
		t.Fatalf("got %d keys, want %d", len(ks), len(want))
	}
	for i, k := range ks {
		if k.Domain != "example.org" || k.Selector != want[i].sel || k.Algorithm != want[i].alg || !k.Created.Equal(testNow) {
			t.Errorf("key %d: %s %s %s %v, want example.org %s %s %v", i, k.Domain, k.Selector, k.Algorithm, k.Created, want[i].sel, want[i].alg, testNow)
		}
		block, _ := pem.Decode(k.PrivatePEM)
		if block == nil || block.Type != "PRIVATE KEY" {
			t.Fatalf("key %d: no PKCS#8 PEM block", i)
		}
		if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
			t.Errorf("key %d: %v", i, err)
		}
		if _, text := k.Record(); text == "" {
			t.Errorf("key %d: no record", i)
		}
	}
}

func TestRecord(t *testing.T) {
	ks := keys(t)
	for _, k := range ks {
		name, text := k.Record()
		if want := k.Selector + "._domainkey.example.org."; name != want {
			t.Errorf("name %q, want %q", name, want)
		}
		prefix := "v=DKIM1; k=" + k.Algorithm + "; p="
		if !strings.HasPrefix(text, prefix) {
			t.Fatalf("text %q, want prefix %q", text, prefix)
		}
		p, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(text, prefix))
		if err != nil {
			t.Fatal(err)
		}
		switch k.Algorithm {
		case "ed25519":
			if len(p) != ed25519.PublicKeySize {
				t.Errorf("ed25519 p= is %d bytes, want %d", len(p), ed25519.PublicKeySize)
			}
		case "rsa":
			pub, err := x509.ParsePKIXPublicKey(p)
			if rsaPub, ok := pub.(*rsa.PublicKey); err != nil || !ok || rsaPub.N.BitLen() != 2048 {
				t.Errorf("rsa p=: %T %v, want a 2048-bit SubjectPublicKeyInfo", pub, err)
			}
		}
	}
	bad := Key{Domain: "example.org", Selector: "s", Algorithm: "rsa", PrivatePEM: ks[0].PrivatePEM}
	if _, text := bad.Record(); text != "" {
		t.Errorf("Record of an ed25519 key labelled rsa = %q, want empty", text)
	}
}

func TestSignFields(t *testing.T) {
	msg := message("alice@example.org", lunchBody)
	sigs, err := Sign(strings.NewReader(msg), keys(t), testNow)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.SplitAfter(strings.TrimSuffix(sigs, "\r\n"), "\r\nDKIM-Signature:")
	if len(fields) != 2 || !strings.HasPrefix(sigs, "DKIM-Signature:") || !strings.HasSuffix(sigs, "\r\n") {
		t.Fatalf("got %q, want two DKIM-Signature fields ending in CRLF", sigs)
	}
	for _, line := range strings.Split(strings.TrimSuffix(sigs, "\r\n"), "\r\n") {
		if len(line) >= maxColumns {
			t.Errorf("line %q is %d columns, want < %d", line, len(line), maxColumns)
		}
		if !strings.HasPrefix(line, "DKIM-Signature:") && !strings.HasPrefix(line, " ") {
			t.Errorf("line %q is neither a field nor a continuation", line)
		}
	}
	tags := parseTags(strings.TrimPrefix(strings.SplitN(sigs, "\r\nDKIM-Signature:", 2)[0], "DKIM-Signature:"))
	want := map[string]string{
		"v": "1", "a": "ed25519-sha256", "c": "relaxed/relaxed", "d": "example.org",
		"s": "f20261123e", "t": strconv.FormatInt(testNow.Unix(), 10),
		"h": "from:from:to:subject:date:message-id:mime-version:content-type",
	}
	for k, v := range want {
		if tags[k] != v {
			t.Errorf("%s=%q, want %q", k, tags[k], v)
		}
	}

	// Reading in one-byte pieces gives the same signature (ed25519 is
	// deterministic).
	again, err := Sign(iotest.OneByteReader(strings.NewReader(msg)), keys(t)[:1], testNow)
	if err != nil || again != fields[0][:len(fields[0])-len("DKIM-Signature:")] {
		t.Errorf("one byte reads: %q, %v; want %q", again, err, fields[0])
	}
}

func TestSignErrors(t *testing.T) {
	ks := keys(t)
	if _, err := Sign(strings.NewReader("Subject: x\r\n\r\nbody\r\n"), ks, testNow); err == nil {
		t.Error("signing a message without From: no error")
	}
	bad := []Key{{Domain: "example.org", Selector: "s", Algorithm: "ed25519", PrivatePEM: []byte("junk")}}
	if _, err := Sign(strings.NewReader(message("a@example.org", "x")), bad, testNow); err == nil {
		t.Error("signing with a junk key: no error")
	}
	if s, err := Sign(strings.NewReader(message("a@example.org", "x")), nil, testNow); s != "" || err != nil {
		t.Errorf("no keys: %q, %v; want nothing", s, err)
	}
}

// TestRelaxed checks canonicalization against RFC 6376 section 3.4.6's
// example and a few edges.
func TestRelaxed(t *testing.T) {
	if got := relaxedHeader("A: X\r\n"); got != "a:X\r\n" {
		t.Errorf("header A: got %q", got)
	}
	if got := relaxedHeader("B : Y\t\r\n\tZ  \r\n"); got != "b:Y Z\r\n" {
		t.Errorf("header B: got %q", got)
	}
	bodies := []struct{ in, want string }{
		{" C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n"}, // the RFC's example
		{"", ""},
		{"\r\n\r\n", ""},
		{"x", "x\r\n"},
		{"a\nb\n\n", "a\r\nb\r\n"},
		{"a \r\n \r\nb", "a\r\n\r\nb\r\n"},
		{"a\rb\r", "a\rb\r\r\n"},
	}
	for _, b := range bodies {
		for _, oneByte := range []bool{false, true} {
			if got := canonBody(b.in, false, oneByte); got != b.want {
				t.Errorf("relaxed body %q (one byte at a time: %v): got %q, want %q", b.in, oneByte, got, b.want)
			}
		}
	}
	simple := []struct{ in, want string }{
		{" C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n"}, // RFC 6376 section 3.4.6
		{"", "\r\n"},
		{"\r\n\r\n", "\r\n"},
		{"x  ", "x  \r\n"},
		{"a\n\nb\n", "a\r\n\r\nb\r\n"},
	}
	for _, b := range simple {
		if got := canonBody(b.in, true, false); got != b.want {
			t.Errorf("simple body %q: got %q, want %q", b.in, got, b.want)
		}
	}
	if got := simpleHeader("B : Y\t\n\tZ  \r\n"); got != "B : Y\t\r\n\tZ  \r\n" {
		t.Errorf("simple header: got %q", got)
	}
}

func canonBody(in string, simple, oneByte bool) string {
	var out bytes.Buffer
	c := &relaxedBody{w: &out, simple: simple}
	if oneByte {
		for i := range len(in) {
			c.Write([]byte{in[i]})
		}
	} else {
		c.Write([]byte(in))
	}
	c.Close()
	return out.String()
}
