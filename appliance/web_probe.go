package appliance

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"strings"
	"time"
)

// probe says whether the service on addr answers as it should: the SMTP,
// IMAP or POP3 greeting (after a TLS handshake on the TLS ports), then a
// polite goodbye, so the check leaves no errors in the services' logs.
func probe(ctx context.Context, name, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", hostPort(addr))
	if err != nil {
		return false
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	switch name {
	case "submissions", "imaps", "pop3s", "https":
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true}) // only checks it answers
		if err := tc.HandshakeContext(ctx); err != nil {
			return false
		}
		conn = tc
	}
	hello := map[string][2]string{ // greeting, goodbye
		"smtp": {"220", "QUIT"}, "submission": {"220", "QUIT"}, "submissions": {"220", "QUIT"},
		"imap": {"* OK", "a LOGOUT"}, "imaps": {"* OK", "a LOGOUT"},
		"pop3": {"+OK", "QUIT"}, "pop3s": {"+OK", "QUIT"},
	}[name]
	if hello[0] == "" {
		return true // http, https: the connection (and handshake) is enough
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, hello[0]) {
		return false
	}
	conn.Write([]byte(hello[1] + "\r\n"))
	r.ReadString('\n')
	return true
}
