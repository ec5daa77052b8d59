// Package cli implements the facteur command line: the roles (dev, serve)
// and the admin commands, which talk to a running core through its control
// socket (appliance/ctl).
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"facteur/appliance/update"
)

// Env is what a command can touch, so tests can run commands in-process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// OSEnv is the environment of the running process.
func OSEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

// usageError is printed with the usage text.
type usageError string

func (e usageError) Error() string { return string(e) }

const usage = `facteur: an office's mail system in one program.

Roles:
  facteur dev    [-data DIR] [-bind IP]   everything in one process on the dev ports, data in ./data
  facteur serve  [-data DIR] [-bind IP]   the core on the standard ports (25, 465, 587, 143, 993, 110, 995)
                 [-resolver HOST:PORT]  (dev and serve) DNS server for outbound mail and SPF/DKIM/DMARC
                 [-retry-base 5m]       (dev and serve) first retry delay of the outbound queue
  facteur dns    [-data DIR] [-bind IP]   the DNS service on port 53, serving the zones the core writes
  facteur firewall [-data DIR]            (root) applies the nftables policy the core writes, bans abusers

Admin commands (they talk to the running core; passwords are read from stdin):
  facteur setup -hostname mail.example.com -domain example.com -admin admin@example.com [-ip IP]... [-lan PREFIX]...
  facteur domain add|del DOMAIN      facteur domain list
  facteur user add|del|passwd ADDR   facteur user list      facteur user quota ADDR BYTES
  facteur user disable|enable ADDR   a disabled account cannot log in (its mail is kept and still delivered)
  facteur user sendas ADDR SENDER[,SENDER...]|-   other senders ADDR may use ("@domain" for a whole domain)
  facteur alias add ADDR TARGET[,TARGET...]   facteur alias del ADDR   facteur alias list
  facteur queue list                 outbound mail waiting: next attempt, attempts, last error
  facteur queue retry ID|all         facteur queue drop ID     facteur queue lifetime DAYS (default 5)
  facteur smarthost set HOST:PORT -user NAME [-insecure]   relay all outbound mail (password on stdin)
  facteur smarthost clear            deliver directly again
  facteur dns records [DOMAIN]       the records the box publishes, in zone-file syntax
  facteur dns add|del DOMAIN 'www 300 IN A 192.0.2.10'    records kept in the zone by hand
  facteur dns secondary add DOMAIN IP [KEYNAME SECRET]     a secondary (AXFR with TSIG, NOTIFY)
  facteur dns forwarders [IP...]     forward LAN queries to these resolvers (none: from the root)
  facteur dns host NAME [IP...]      a static LAN host name (no IP: remove it)
  facteur dns dmarc DOMAIN none|quarantine|reject   the DMARC policy published (default quarantine)
  facteur firewall show|bans|counters   facteur firewall ban IP [DURATION]   facteur firewall unban IP
  facteur firewall allow [PREFIX...]    admin allow-list: web UI from outside the LAN, never banned
  facteur update apply FILE [-force]  install a signed update bundle (on the device; -force allows older builds)
  facteur update status              the running slot and version, and the last update's outcome
  facteur status
  facteur version

Every command takes -data DIR after its command words; the default is $FACTEUR_DATA, then ./data in dev
and /perm/facteur on the device.
`

// Main runs the command in args (without the program name) and returns the
// exit status.
func Main(args []string, env Env) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, args, env)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "facteur: %v\n\n%s", err, usage)
		return 2
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(env.Stdout, usage)
		return 0
	default:
		fmt.Fprintf(env.Stderr, "facteur: %v\n", err)
		return 1
	}
}

func run(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return usageError("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "dev":
		return runRole(ctx, rest, env, true)
	case "serve":
		return runRole(ctx, rest, env, false)
	case "setup":
		return setup(rest, env)
	case "domain", "user", "alias", "queue":
		return admin(cmd, rest, env)
	case "dns":
		return dnsCmd(ctx, rest, env)
	case "smarthost":
		return smarthostCmd(rest, env)
	case "firewall":
		return firewallCmd(ctx, rest, env)
	case "update":
		return updateCmd(rest, env)
	case "status":
		return status(rest, env)
	case "version":
		return version(rest, env)
	case "help", "-h", "-help", "--help":
		return flag.ErrHelp
	}
	return usageError(fmt.Sprintf("unknown command %q", cmd))
}

// dataDir resolves -data: the flag, then $FACTEUR_DATA, then the default.
func dataDir(flagValue string, env Env, dev bool) string {
	if flagValue != "" {
		return flagValue
	}
	if d := env.Getenv("FACTEUR_DATA"); d != "" {
		return d
	}
	if dev {
		return "data"
	}
	if update.ReadFirmware(update.RootEtc).Board == "" {
		return "data" // not on the device: the dev default
	}
	// On the device every role uses /perm/facteur, whichever starts
	// first creates it.
	if err := os.MkdirAll(devicePerm, 0o700); err != nil {
		fmt.Fprintf(env.Stderr, "facteur: %v\n", err)
	}
	return devicePerm
}

// devicePerm is the data directory on the device.
const devicePerm = "/perm/facteur"

// readPassword reads one line from stdin (piped or typed).
func readPassword(env Env, prompt string) (string, error) {
	if f, ok := env.Stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(env.Stderr, prompt)
		}
	}
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("empty password on stdin")
	}
	return pw, nil
}

// newFlags returns a flag set with -data.
func newFlags(name string, env Env) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	data := fs.String("data", "", "data directory")
	return fs, data
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }
