package mailauth

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// relayKey returns the RSA key of ks relabelled for a relay domain.
func relayKey(ks []Key, domain string) Key {
	k := ks[1]
	k.Domain = domain
	return k
}

// arcSeal has python3-dkim add an ARC set to msg as relay domain.
func arcSeal(t *testing.T, python, msg string, k Key) string {
	t.Helper()
	dir := t.TempDir()
	signer, err := k.signer()
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(signer.(*rsa.PrivateKey))})
	msgFile, keyFile := filepath.Join(dir, "msg"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(msgFile, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pkcs1, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(python, "testdata/arcseal.py", msgFile, keyFile, k.Selector, k.Domain, k.Domain)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("arcseal.py: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// arcChain returns a message that went through two relays, each of which
// checked it and added an ARC set.
func arcChain(t *testing.T, python string) string {
	t.Helper()
	m := "Authentication-Results: relay1.example.net; spf=pass smtp.mailfrom=example.org\r\n" +
		message("alice@example.org", lunchBody)
	m = arcSeal(t, python, m, relayKey(keys(t), "relay1.example.net"))
	m = "Authentication-Results: relay2.example.net; arc=pass\r\n" + m
	return arcSeal(t, python, m, relayKey(keys(t), "relay2.example.net"))
}

func arcEnv(t *testing.T) *env {
	e := newEnv(t)
	e.publish([]Key{relayKey(keys(t), "relay1.example.net"), relayKey(keys(t), "relay2.example.net")})
	return e
}

// TestARCPython checks ARC chains that python3-dkim seals: one hop, two
// hops, and the ways a chain breaks.
func TestARCPython(t *testing.T) {
	python := pythonWithDKIM(t)
	if err := exec.Command(python, "-c", "import authres").Run(); err != nil {
		t.Fatalf("%s cannot import authres: install python3-authres (make deps)", python)
	}
	e := arcEnv(t)
	one := arcSeal(t, python, "Authentication-Results: relay1.example.net; spf=pass smtp.mailfrom=example.org\r\n"+
		message("alice@example.org", lunchBody), relayKey(keys(t), "relay1.example.net"))
	two := arcChain(t, python)
	if n := strings.Count(two, "ARC-Seal:"); n != 2 {
		t.Fatalf("two hops gave %d ARC-Seal fields, want 2:\n%s", n, two)
	}
	checkARC(t, e, "one hop", one, "pass")
	checkARC(t, e, "two hops", two, "pass")
	checkARCBreaks(t, e, two)
}

// TestARCGolden checks a two-hop chain python3-dkim sealed once
// (testdata/arc-chain.eml, made by arcChain with testdata/keys.json), so
// ARC is tested where python3 is missing too.
func TestARCGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/arc-chain.eml")
	if err != nil {
		t.Fatal(err)
	}
	e := arcEnv(t)
	checkARC(t, e, "golden", string(b), "pass")
	checkARCBreaks(t, e, string(b))
}

func checkARC(t *testing.T, e *env, name, msg, want string) {
	t.Helper()
	vd := e.check(t, fromOrg(senderIP), msg)
	if vd.ARC != want {
		t.Errorf("%s: ARC %q, want %q", name, vd.ARC, want)
	}
	if !strings.Contains(vd.Header, "arc="+want) {
		t.Errorf("%s: header %q lacks arc=%s", name, vd.Header, want)
	}
}

// checkARCBreaks alters a valid two-hop chain in ways that must fail it.
func checkARCBreaks(t *testing.T, e *env, two string) {
	t.Helper()
	removeField := func(m, prefix string) string {
		var out []string
		skip := false
		for _, line := range strings.SplitAfter(m, "\r\n") {
			if strings.HasPrefix(line, prefix) {
				skip = true
				continue
			}
			if skip && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) {
				continue
			}
			skip = false
			out = append(out, line)
		}
		return strings.Join(out, "")
	}
	breaks := []struct{ name, msg string }{
		{"body altered", strings.Replace(two, "Thursday", "Friday", 1)},
		{"signed field altered", strings.Replace(two, "Subject: Lunch", "Subject: Brunch", 1)},
		{"first results altered", strings.Replace(two, "spf=pass smtp.mailfrom=example.org", "spf=pass smtp.mailfrom=example.com", 1)},
		{"first seal removed", removeField(two, "ARC-Seal: i=1")},
		{"second message signature removed", removeField(two, "ARC-Message-Signature: i=2")},
	}
	for _, b := range breaks {
		if b.msg == two {
			t.Fatalf("%s: the message did not change", b.name)
		}
		checkARC(t, e, b.name, b.msg, "fail")
	}
	checkARC(t, e, "no ARC", message("alice@example.org", lunchBody), "none")
}
