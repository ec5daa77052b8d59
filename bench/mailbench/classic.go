package mailbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// Classic is Postfix and Dovecot from Debian, run from a scratch directory
// with their own configuration, queue, state and mail: nothing of the
// system's own instances is read, changed or stopped.
//
// Postfix listens on Bind:25 and hands every message for Domain over LMTP
// to Dovecot's LMTP unix socket; Dovecot serves IMAP on Bind:143 and
// Bind:993 from sdbox mailboxes, with passwd-file users. Every setting not written
// in the templates below is the packages' default.
type Classic struct {
	Dir  string // scratch directory, removed by Stop unless Keep
	Bind string // 127.0.0.11
	Keep bool

	dovecot, postfix *child
}

func (c *Classic) Name() string     { return "postfix+dovecot" }
func (c *Classic) SMTPAddr() string { return net.JoinHostPort(c.Bind, "25") }
func (c *Classic) IMAPAddr() string { return net.JoinHostPort(c.Bind, "993") }

func (c *Classic) Roots() []int {
	var r []int
	for _, p := range []*child{c.dovecot, c.postfix} {
		if p != nil {
			r = append(r, p.pid())
		}
	}
	return r
}

func (c *Classic) Version(ctx context.Context) string {
	pv, _ := run(ctx, 10*time.Second, nil, "postconf", "-d", "-h", "mail_version")
	dv, _ := run(ctx, 10*time.Second, nil, "dovecot", "--version")
	return fmt.Sprintf("postfix %s, dovecot %s", strings.TrimSpace(pv), strings.TrimSpace(dv))
}

// classicConf is what the configuration templates use.
type classicConf struct {
	Dir, Bind, Domain string
	MailUID, MailGID  string
}

func (c *Classic) path(p ...string) string { return filepath.Join(append([]string{c.Dir}, p...)...) }

func (c *Classic) Start(ctx context.Context, users []User) error {
	for _, bin := range []string{"postfix", "postconf", "dovecot"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s is not installed (apt-get install postfix dovecot-imapd dovecot-lmtpd): %w", bin, err)
		}
	}
	for _, a := range []string{c.SMTPAddr(), c.IMAPAddr()} {
		if err := portFree(a); err != nil {
			return fmt.Errorf("postfix+dovecot: %w", err)
		}
	}
	if err := c.writeConfig(users); err != nil {
		return fmt.Errorf("postfix+dovecot config: %w", err)
	}
	var err error
	c.dovecot, err = startChild("dovecot", c.path("dovecot.out"), nil, "dovecot", "-F", "-c", c.path("dovecot", "dovecot.conf"))
	if err != nil {
		return err
	}
	dovecotAlive := func() error {
		if err := c.dovecot.failed(); err != nil {
			return fmt.Errorf("%w\nend of dovecot.log:\n%s", err, tail(c.path("dovecot.log"), 20))
		}
		return nil
	}
	err = waitFor(ctx, "dovecot", 30*time.Second, dovecotAlive, func() error {
		if _, err := os.Stat(c.path("dovecot", "run", "lmtp")); err != nil {
			return err
		}
		return dialable(c.IMAPAddr())
	})
	if err != nil {
		return err
	}
	if _, err := run(ctx, 60*time.Second, nil, "postfix", "-c", c.path("postfix"), "check"); err != nil {
		return fmt.Errorf("%w\nend of postfix.log:\n%s", err, tail(c.path("postfix.log"), 20))
	}
	c.postfix, err = startChild("postfix", c.path("postfix.out"), nil, "postfix", "-c", c.path("postfix"), "start-fg")
	if err != nil {
		return err
	}
	postfixAlive := func() error {
		if err := c.postfix.failed(); err != nil {
			return fmt.Errorf("%w\nend of postfix.log:\n%s", err, tail(c.path("postfix.log"), 20))
		}
		return nil
	}
	return waitFor(ctx, "postfix", 30*time.Second, postfixAlive, func() error {
		return probe(c.SMTPAddr(), c.IMAPAddr(), users[0])
	})
}

// writeConfig writes Postfix's and Dovecot's configuration, the users, a
// certificate, and the directories with the owners the daemons need.
func (c *Classic) writeConfig(users []User) error {
	nobody, err := user.Lookup("nobody")
	if err != nil {
		return err
	}
	pf, err := user.Lookup("postfix")
	if err != nil {
		return err
	}
	conf := classicConf{Dir: c.Dir, Bind: c.Bind, Domain: Domain, MailUID: nobody.Uid, MailGID: nobody.Gid}
	// The daemons' users (postfix, dovecot, nobody) walk through c.Dir.
	if err := os.Chmod(c.Dir, 0o755); err != nil {
		return err
	}
	for _, d := range []string{"postfix", "spool", "postfix-data", "dovecot/run", "dovecot/state", "mail"} {
		if err := os.MkdirAll(c.path(d), 0o755); err != nil {
			return err
		}
	}
	var errs []error
	errs = append(errs, chownName(c.path("postfix-data"), pf), chownName(c.path("mail"), nobody))
	var passwd, vmailbox strings.Builder
	for _, u := range users {
		local, _, _ := strings.Cut(u.Addr, "@")
		fmt.Fprintf(&passwd, "%s:{PLAIN}%s:%s:%s::%s\n", u.Addr, u.Password, conf.MailUID, conf.MailGID, c.path("mail", local))
		fmt.Fprintf(&vmailbox, "%s OK\n", u.Addr)
	}
	files := []struct {
		path string
		tmpl *template.Template
		text string
	}{
		{c.path("postfix", "main.cf"), postfixMain, ""},
		{c.path("postfix", "master.cf"), postfixMaster, ""},
		{c.path("postfix", "vmailbox"), nil, vmailbox.String()},
		{c.path("dovecot", "dovecot.conf"), dovecotConf, ""},
		{c.path("dovecot", "users"), nil, passwd.String()},
	}
	for _, f := range files {
		text := f.text
		if f.tmpl != nil {
			var b strings.Builder
			if err := f.tmpl.Execute(&b, conf); err != nil {
				return err
			}
			text = b.String()
		}
		errs = append(errs, os.WriteFile(f.path, []byte(text), 0o644))
	}
	errs = append(errs, writeCert(c.path("dovecot", "cert.pem"), c.path("dovecot", "key.pem"), "mail."+Domain))
	return errors.Join(errs...)
}

func (c *Classic) Stop() error {
	var errs []error
	if c.postfix != nil {
		// postfix stop asks the master to end; start-fg then returns.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := run(ctx, 30*time.Second, nil, "postfix", "-c", c.path("postfix"), "stop")
		cancel()
		if err != nil {
			errs = append(errs, err)
		}
		errs = append(errs, c.postfix.stop(30*time.Second))
	}
	if c.dovecot != nil {
		errs = append(errs, c.dovecot.stop(30*time.Second))
	}
	if !c.Keep {
		errs = append(errs, os.RemoveAll(c.Dir))
	}
	return errors.Join(errs...)
}

var postfixMain = template.Must(template.New("main.cf").Parse(`# Written by mailbench: Postfix as Debian ships it, with its own
# directories, delivering bench.test over LMTP to Dovecot.
compatibility_level = 3.6
queue_directory = {{.Dir}}/spool
data_directory = {{.Dir}}/postfix-data
meta_directory = /etc/postfix
multi_instance_directories =
syslog_name = postfix-bench
maillog_file = {{.Dir}}/postfix.log
maillog_file_prefixes = {{.Dir}}
# inet_interfaces must name configured interface addresses; {{.Bind}} is
# only routed to lo, so master.cf binds the smtp service to it instead.
inet_interfaces = all
inet_protocols = ipv4
myhostname = mail.{{.Domain}}
mydomain = {{.Domain}}
myorigin = {{.Domain}}
mydestination =
mynetworks = 127.0.0.0/8
relayhost =
alias_maps =
alias_database =
virtual_mailbox_domains = {{.Domain}}
virtual_mailbox_maps = texthash:{{.Dir}}/postfix/vmailbox
virtual_transport = lmtp:unix:{{.Dir}}/dovecot/run/lmtp
`))

// postfixMaster is Debian's master.cf without chroot (the queue is in the
// scratch directory) and without the services nothing here uses.
var postfixMaster = template.Must(template.New("master.cf").Parse(`# Written by mailbench.
{{.Bind}}:25 inet n   -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`))

var dovecotConf = template.Must(template.New("dovecot.conf").Parse(`# Written by mailbench: Dovecot's defaults, with its own directories.
instance_name = dovecot-bench
base_dir = {{.Dir}}/dovecot/run
state_dir = {{.Dir}}/dovecot/state
log_path = {{.Dir}}/dovecot.log
listen = {{.Bind}}
protocols = imap lmtp
ssl = yes
ssl_cert = <{{.Dir}}/dovecot/cert.pem
ssl_key = <{{.Dir}}/dovecot/key.pem
ssl_dh = </usr/share/dovecot/dh.pem
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN {{.Dir}}/dovecot/users
}
userdb {
  driver = passwd-file
  args = {{.Dir}}/dovecot/users
}
# sdbox: Dovecot's own one-file-per-message format. With maildir, LMTP
# delivery into a 100,000-message INBOX that no client opens rescans new/
# on every delivery and fell to 13 messages/s (see bench/README.md).
mail_location = sdbox:~/sdbox
# Mail belongs to nobody ({{.MailUID}}); Dovecot refuses uids under first_valid_uid.
first_valid_uid = {{.MailUID}}
last_valid_uid = {{.MailUID}}
service imap-login {
  inet_listener imap {
    port = 143
  }
  inet_listener imaps {
    port = 993
    ssl = yes
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
`))

func chownName(path string, u *user.User) error {
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return err
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return err
	}
	return os.Chown(path, uid, gid)
}
