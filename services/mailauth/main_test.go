package mailauth

import (
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the clock of every test: the date in the brief's example
// selectors.
var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// testKeys are example.org's keys, made by NewKeys once and kept in
// testdata: generating an RSA key in every test (and fuzz worker) is slow.
// They sign test messages only.
var testKeys = sync.OnceValues(func() ([]Key, error) {
	b, err := os.ReadFile("testdata/keys.json")
	if err != nil {
		return nil, err
	}
	var ks []Key
	return ks, json.Unmarshal(b, &ks)
})

func keys(t testing.TB) []Key {
	t.Helper()
	ks, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// keysFor returns example.org's keys relabelled for domain.
func keysFor(t testing.TB, domain string) []Key {
	var ks []Key
	for _, k := range keys(t) {
		k.Domain = domain
		ks = append(ks, k)
	}
	return ks
}

const (
	senderIP  = "192.0.2.10"  // example.org's outbound server
	strangeIP = "203.0.113.5" // someone else
	ourHost   = "mx.facteur.test"
)

// env is a DNS server holding example.org's SPF, DMARC and DKIM records,
// and a Verifier that uses it.
type env struct {
	dns *testDNS
	v   *Verifier
}

func newEnv(t *testing.T) *env {
	t.Helper()
	d := startDNS(t)
	d.setTXT("example.org", "v=spf1 ip4:"+senderIP+" -all")
	d.setTXT("mail.example.org", "v=spf1 ip4:"+senderIP+" -all")
	d.setTXT("_dmarc.example.org", "v=DMARC1; p=reject")
	e := &env{dns: d, v: &Verifier{
		Hostname: ourHost,
		Resolver: d.resolver(),
		Now:      func() time.Time { return testNow },
	}}
	e.publish(keys(t))
	return e
}

// publish puts the DKIM records of ks in the zone.
func (e *env) publish(ks []Key) {
	for _, k := range ks {
		name, text := k.Record()
		e.dns.setTXT(name, text)
	}
}

// message returns a small message from the address from, with CRLF
// line endings.
func message(from, body string) string {
	h := []string{
		"From: Alice <" + from + ">",
		"To: Bob <bob@facteur.test>",
		"Subject: Lunch on Thursday?",
		"Date: Mon, 23 Nov 2026 12:00:00 +0000",
		"Message-ID: <lunch.1@example.org>",
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
	}
	return strings.Join(h, "\r\n") + "\r\n\r\n" + body
}

const lunchBody = "Hi Bob,\r\n\r\nShall we  try the new place\t on Thursday?  \r\n\r\nAlice\r\n\r\n"

// signed returns msg with DKIM-Signature fields of ks prepended.
func signed(t *testing.T, msg string, ks []Key) string {
	t.Helper()
	sig, err := Sign(strings.NewReader(msg), ks, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return sig + msg
}
