package mailbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// classicPackages are the Debian packages of the classic stack.
var classicPackages = []string{"postfix", "dovecot-imapd", "dovecot-lmtpd"}

// classicInstalled reports whether the programs the classic stack needs
// are on the machine.
func classicInstalled() bool {
	for _, p := range []string{"/usr/sbin/postfix", "/usr/sbin/postconf", "/usr/sbin/dovecot", "/usr/lib/dovecot/imap", "/usr/lib/dovecot/lmtp"} {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

// installClassic installs Postfix and Dovecot from Debian's archive.
// Postfix is preseeded with "No configuration", so the package neither
// writes /etc/postfix/main.cf nor starts the system's own instance.
func installClassic(ctx context.Context, log io.Writer) error {
	if classicInstalled() {
		return nil
	}
	fmt.Fprintf(log, "installing %v from Debian\n", classicPackages)
	preseed := []byte("postfix postfix/main_mailer_type select No configuration\n")
	if _, err := run(ctx, time.Minute, preseed, "debconf-set-selections"); err != nil {
		return fmt.Errorf("preseed postfix: %w", err)
	}
	if _, err := run(ctx, 5*time.Minute, nil, "apt-get", "update", "-qq"); err != nil {
		return err
	}
	args := append([]string{"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq"}, classicPackages...)
	if _, err := run(ctx, 10*time.Minute, nil, args...); err != nil {
		return err
	}
	if !classicInstalled() {
		return fmt.Errorf("%v installed, but their programs are missing", classicPackages)
	}
	return nil
}
