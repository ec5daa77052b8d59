package mailbench

import (
	"strings"
	"testing"
)

// TestClassicConfig checks the settings that keep the classic stack apart
// from the system's own Postfix and Dovecot and wire them together.
func TestClassicConfig(t *testing.T) {
	conf := classicConf{Dir: "/scratch", Bind: "127.0.0.11", Domain: Domain, MailUID: "65534", MailGID: "65534"}
	render := func(name string) string {
		var b strings.Builder
		var err error
		switch name {
		case "main.cf":
			err = postfixMain.Execute(&b, conf)
		case "master.cf":
			err = postfixMaster.Execute(&b, conf)
		case "dovecot.conf":
			err = dovecotConf.Execute(&b, conf)
		}
		if err != nil {
			t.Fatalf("render %s: %v", name, err)
		}
		return b.String()
	}
	want := map[string][]string{
		"main.cf": {
			"queue_directory = /scratch/spool\n",
			"data_directory = /scratch/postfix-data\n",
			"virtual_mailbox_domains = bench.test\n",
			"virtual_transport = lmtp:unix:/scratch/dovecot/run/lmtp\n",
			"mydestination =\n",
		},
		"master.cf": {"127.0.0.11:25 inet n   -       n       -       -       smtpd\n"},
		"dovecot.conf": {
			"base_dir = /scratch/dovecot/run\n",
			"listen = 127.0.0.11\n",
			"mail_location = sdbox:~/sdbox\n",
			"args = scheme=PLAIN /scratch/dovecot/users\n",
		},
	}
	for name, lines := range want {
		t.Run(name, func(t *testing.T) {
			got := render(name)
			for _, l := range lines {
				if !strings.Contains(got, l) {
					t.Errorf("%s lacks %q; got:\n%s", name, l, got)
				}
			}
			if strings.Contains(got, "/etc/dovecot/") || strings.Contains(got, "/var/spool/postfix") {
				t.Errorf("%s refers to the system's own instance:\n%s", name, got)
			}
		})
	}
	if m := render("master.cf"); strings.Contains(m, " y ") {
		t.Errorf("master.cf chroots a service:\n%s", m)
	}
}
