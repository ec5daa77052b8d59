package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"facteur/appliance"
	"facteur/appliance/update"
)

func runRole(ctx context.Context, args []string, env Env, dev bool) error {
	name := map[bool]string{true: "dev", false: "serve"}[dev]
	fs, data := newFlags(name, env)
	bind := fs.String("bind", "", "listen on this IP address only")
	resolverAddr := fs.String("resolver", "", "send every DNS query to this server (host:port) instead of the box's own DNS")
	retryBase := fs.Duration("retry-base", 0, "first retry delay of the outbound queue, doubled each time (default 5m)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("%s takes no arguments", name))
	}
	dir := dataDir(*data, env, dev)
	opts := appliance.Options{
		DataDir: dir, Bind: *bind, Ports: appliance.StandardPorts,
		Resolver: *resolverAddr, RetryBase: *retryBase,
		Logger: slog.New(slog.NewTextHandler(env.Stderr, nil)),
	}
	if dev {
		opts.Ports = appliance.DevPorts
		if opts.Bind == "" {
			opts.Bind = "127.0.0.1"
		}
		opts.Ready = func(c *appliance.Core) { printDevHelp(env, c, dir) }
		return runDev(ctx, opts)
	}
	if fw := update.ReadFirmware(update.RootEtc); fw.Board != "" {
		opts.Update = &appliance.UpdateOptions{Perm: "/perm", Keys: update.RootEtc + "/keys", Firmware: fw}
	}
	return appliance.Run(ctx, opts)
}

func printDevHelp(env Env, c *appliance.Core, dir string) {
	s := c.Settings()
	abs, _ := filepath.Abs(dir)
	exe, _ := os.Executable()
	if exe == "" {
		exe = "facteur"
	}
	fmt.Fprintf(env.Stdout, `
Facteur is running in dev mode (data in %s).

  SMTP (MX)         %s
  Submission        %s (STARTTLS)   %s (TLS)
  IMAP              %s (STARTTLS)   %s (TLS)
  POP3              %s (STLS)       %s (TLS)
  Certificate       self-signed for %s: tell your client to accept it

`, abs, c.Addr("smtp"), c.Addr("submission"), c.Addr("submissions"), c.Addr("imap"), c.Addr("imaps"),
		c.Addr("pop3"), c.Addr("pop3s"), s.Hostname)
	if u := c.SetupURL(); u != "" {
		fmt.Fprintf(env.Stdout, "Set it up in your browser with this one-time link:\n\n  %s\n\n", u)
	} else {
		fmt.Fprintf(env.Stdout, "Web admin: %s (self-signed certificate)\n\n", c.AdminURL())
	}
	if !s.SetupDone {
		fmt.Fprintf(env.Stdout, `Not set up yet. In another terminal:

  echo 'a-long-admin-password' | %[1]s setup -data %[2]s -hostname mail.example.test -domain example.test -admin admin@example.test
  echo 'alice-password-1' | %[1]s user add -data %[2]s alice@example.test

`, exe, dir)
	}
	fmt.Fprintf(env.Stdout, `Then send a message with swaks (or any mail client):

  swaks --server %s --tls --auth-user alice@example.test --auth-password alice-password-1 \
        --from alice@example.test --to admin@example.test

and read it over IMAP at %s (user alice@example.test). Stop with Ctrl-C.
`, c.Addr("submission"), c.Addr("imaps"))
}

// runDev runs the core and the dns role in one process; when either stops,
// both do.
func runDev(ctx context.Context, opts appliance.Options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dnsDone := make(chan error, 1)
	started := make(chan struct{})
	ready := opts.Ready
	fwDone := make(chan error, 1)
	opts.Ready = func(c *appliance.Core) {
		close(started) // the core has written the zones and policy
		go func() {
			dnsDone <- runDNS(ctx, opts.DataDir, opts.Bind, opts.Ports.DNS, opts.Logger)
			cancel()
		}()
		go func() {
			// Dev mode never touches the host firewall: the role only
			// decides and answers "facteur firewall show".
			fwDone <- runFirewall(ctx, opts.DataDir, true, opts.Logger)
			cancel()
		}()
		ready(c)
	}
	err := appliance.Run(ctx, opts)
	cancel()
	select {
	case <-started:
		err = errors.Join(err, <-dnsDone, <-fwDone)
	default:
	}
	return err
}
