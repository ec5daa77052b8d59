package mailbench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// Domain is the mail domain both systems serve.
const Domain = "bench.test"

// User is a mailbox account on the system under test.
type User struct {
	Addr, Password string
}

// System is a mail system under test: it receives mail by SMTP on port 25
// and serves it by IMAP over TLS.
type System interface {
	// Name is the system's name in the results.
	Name() string
	// Start starts the servers with the given users and returns once
	// they accept mail for them.
	Start(ctx context.Context, users []User) error
	// SMTPAddr is the MX listener (port 25); IMAPAddr the IMAP listener
	// with implicit TLS (port 993).
	SMTPAddr() string
	IMAPAddr() string
	// Roots are the processes that, with their descendants, make up the
	// system, for the memory and CPU figures.
	Roots() []int
	// Version describes what runs.
	Version(ctx context.Context) string
	// Stop stops every process Start started and removes its files.
	Stop() error
}

// randomToken returns 16 random hex digits, for passwords.
func randomToken() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
