package image

import (
	"crypto/tls"
	"fmt"
	"net/smtp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"facteur/hardware"
)

// TestQEMUPowerCut cuts the power of a booted image while clients submit
// mail: QEMU is killed, so the guest's page cache dies with it, as in a
// power cut. After the next boot every message the box acknowledged is
// in the mailbox: the acknowledgement waited for the disk.
func TestQEMUPowerCut(t *testing.T) {
	b, _ := hardware.Lookup("qemu-amd64")
	needQEMU(t, b)
	dir := t.TempDir()
	r := buildImage(t, Options{Board: b, Version: "powercut", Build: 1, Seed: "qemu-powercut", PermMiB: 256, Out: dir})
	vars := copyVars(t, b, dir)
	v := boot(t, b, r.Image, vars)
	v.greeting(25, 4*time.Minute)
	v.completeWizard()
	v.greeting(587, 2*time.Minute)
	v.everyRoleUp()

	var (
		mu    sync.Mutex
		acked []string
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	const senders = 4
	for i := 0; i < senders; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; !stop.Load() && n < 500; n++ {
				subject := fmt.Sprintf("load %d-%d", i, n)
				if err := v.submit(subject); err != nil {
					return // the power is gone
				}
				mu.Lock()
				acked = append(acked, subject)
				mu.Unlock()
			}
		}()
	}
	// Cut the power in the middle of the load: after 30 s, or sooner if
	// many messages went through.
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 {
			break
		}
	}
	v.kill()
	stop.Store(true)
	wg.Wait()
	if len(acked) < 10 {
		t.Fatalf("only %d messages accepted before the power cut: no load to speak of", len(acked))
	}
	t.Logf("%d messages acknowledged before the power was cut", len(acked))

	v = boot(t, b, r.Image, vars)
	v.greeting(143, 4*time.Minute)
	stored := map[string]bool{}
	for _, s := range v.subjects() {
		stored[s] = true
	}
	var lost []string
	for _, s := range acked {
		if !stored[s] {
			lost = append(lost, s)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d acknowledged messages lost in the power cut: %s", len(lost), len(acked), strings.Join(lost, ", "))
	}
	t.Logf("after the power cut: %d messages in the INBOX, every acknowledged one among them", len(stored))
}

// submit sends one message from the admin to the admin on the submission
// port (STARTTLS, AUTH PLAIN); nil means the box acknowledged it.
func (v *vm) submit(subject string) error {
	c, err := smtp.Dial(fmt.Sprintf("127.0.0.1:%d", v.ports[587]))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true, ServerName: "mail.example.test"}); err != nil {
		return err
	}
	if err := c.Auth(smtp.PlainAuth("", adminAddr, adminPass, "127.0.0.1")); err != nil {
		return err
	}
	if err := sendTo(c, adminAddr, adminAddr, subject, strings.Repeat("load test line\r\n", 100)); err != nil {
		return err
	}
	c.Quit()
	return nil
}

// everyRoleUp checks the roles besides the core: the firewall role answers
// the web UI's firewall page (the core asks it over its socket), and the
// DNS role answers for the box's domain (over TCP, through a forwarded
// port).
func (v *vm) everyRoleUp() {
	v.t.Helper()
	a := v.loginAdmin()
	a.get("/admin/firewall")
	a.mustShow("firewall page", "Blocked addresses", "Counters")
	if strings.Contains(a.last, "not available") {
		v.t.Errorf("the firewall role does not answer: %q", flashRE.FindAllString(a.last, -1))
	}
	m := new(dns.Msg)
	m.SetQuestion("example.test.", dns.TypeSOA)
	c := &dns.Client{Net: "tcp", Timeout: 10 * time.Second}
	var r *dns.Msg
	var err error
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(2 * time.Second) {
		if r, _, err = c.Exchange(m, fmt.Sprintf("127.0.0.1:%d", v.ports[53])); err == nil && len(r.Answer) > 0 {
			break
		}
	}
	if err != nil || r == nil || !r.Authoritative || len(r.Answer) == 0 {
		v.t.Fatalf("the DNS role does not answer for example.test: %v %v", err, r)
	}
	v.t.Logf("every role answers: firewall page, DNS SOA %s", strings.Fields(r.Answer[0].String())[4])
}
