package mailauth

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
)

// The MX path: drop forged results, check, and put our results on top.
// The submission path signs with Sign before the message is queued.
func ExampleVerifier_Check() {
	ks, _ := testKeys()
	msg := "From: alice@example.org\r\nTo: bob@example.net\r\nSubject: hi\r\n\r\nHello.\r\n"
	sigs, _ := Sign(strings.NewReader(msg), ks[:1], testNow)
	received := "Authentication-Results: mx.example.net; dmarc=pass\r\n" + sigs + msg

	name, text := ks[0].Record()
	v := &Verifier{
		Hostname: "mx.example.net",
		Resolver: MapResolver{TXT: map[string][]string{
			"example.org":                 {"v=spf1 ip4:192.0.2.10 -all"},
			"_dmarc.example.org":          {"v=DMARC1; p=reject"},
			strings.TrimSuffix(name, "."): {text},
		}},
	}
	in := Input{IP: net.ParseIP("192.0.2.10"), Helo: "out.example.org", MailFrom: "alice@example.org"}
	vd, err := v.Check(context.Background(), in, StripAuthResults(strings.NewReader(received), v.Hostname))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(vd.Action)
	fmt.Print(strings.ReplaceAll(vd.Header, "\r\n", "\n"))
	// The message to store: our field, then the message without the forged one.
	stored, _ := io.ReadAll(io.MultiReader(strings.NewReader(vd.Header),
		StripAuthResults(strings.NewReader(received), v.Hostname)))
	fmt.Println(strings.Count(string(stored), "Authentication-Results:"))
	// Output:
	// accept
	// Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=example.org;
	// 	dkim=pass header.d=example.org header.s=f20261123e;
	// 	dmarc=pass header.from=example.org (p=reject dis=none); arc=none
	// 1
}
