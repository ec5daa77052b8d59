package update

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// HealthCheck is one health check of a test boot.
type HealthCheck struct {
	Name  string
	Probe func(ctx context.Context) error
}

// DeviceChecks are the checks on the device: every role answers. The
// core answering SMTP and IMAP also shows that the store opened.
func DeviceChecks(perm string) []HealthCheck {
	return []HealthCheck{
		{"SMTP", Greets("127.0.0.1:25")},
		{"IMAP", Greets("127.0.0.1:143")},
		{"HTTPS", HTTPSAnswers("127.0.0.1:443")},
		{"DNS", DNSAnswers("127.0.0.1:53")},
		{"firewall", SocketAccepts(filepath.Join(perm, "facteur", "firewall.sock"))},
	}
}

// checkHealth waits until every check passes, or the timeout.
func (a *Agent) checkHealth(ctx context.Context) error {
	timeout := a.HealthTimeout
	if timeout == 0 {
		timeout = readDuration(filepath.Join(RootEtc, "health-timeout"), 5*time.Minute)
	}
	checks := a.Health
	if len(checks) == 0 {
		checks = DeviceChecks(a.Device.Perm)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, c := range checks {
		var err error
		for {
			pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
			err = c.Probe(pctx)
			pcancel()
			if err == nil {
				a.Logf("update: health check %s passed", c.Name)
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s did not answer within %v: %v", c.Name, timeout, err)
			case <-time.After(2 * time.Second):
			}
		}
	}
	return nil
}

// Greets connects to addr and reads an SMTP ("220") or IMAP ("* OK")
// greeting.
func Greets(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		dl, _ := ctx.Deadline()
		c.SetDeadline(dl)
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "220") && !strings.HasPrefix(line, "* OK") {
			return fmt.Errorf("unexpected greeting %q", strings.TrimSpace(line))
		}
		return nil
	}
}

// HTTPSAnswers completes a TLS handshake with addr (the box's certificate
// may be self-signed) and needs an HTTP answer that is not a server error.
func HTTPSAnswers(addr string) func(context.Context) error {
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, "GET", "https://"+addr+"/", nil)
		if err != nil {
			return err
		}
		resp, err := cl.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			return fmt.Errorf("HTTP %s", resp.Status)
		}
		return nil
	}
}

// DNSAnswers sends a query to addr over UDP; any well-formed reply (even
// a refusal) shows the DNS role is serving.
func DNSAnswers(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		m := new(dns.Msg)
		m.SetQuestion("localhost.", dns.TypeA)
		_, _, err := (&dns.Client{Timeout: 5 * time.Second}).ExchangeContext(ctx, m, addr)
		return err
	}
}

// SocketAccepts connects to a unix socket (the firewall role's).
func SocketAccepts(path string) func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := (&net.Dialer{}).DialContext(ctx, "unix", path)
		if err != nil {
			return err
		}
		return c.Close()
	}
}
