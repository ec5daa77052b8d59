package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"facteur/appliance"
	"facteur/firewall"
)

// firewallCmd is the firewall role ("facteur firewall [-data DIR]", as
// root) and its admin commands: show, bans, counters, ban IP [DURATION],
// unban IP.
func firewallCmd(ctx context.Context, args []string, env Env) error {
	verb := ""
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		verb, args = args[0], args[1:]
	}
	fs, data := newFlags("firewall "+verb, env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := dataDir(*data, env, false)
	switch verb {
	case "":
		if fs.NArg() > 0 {
			return usageError("firewall takes no arguments")
		}
		return runFirewall(ctx, dir, false, slog.New(slog.NewTextHandler(env.Stderr, nil)))
	case "show", "bans", "counters":
		return firewallShow(dir, verb, env)
	case "ban", "unban":
		return firewallBan(dir, verb, fs.Args(), env)
	case "allow":
		// The core owns the policy: it saves the list and rewrites it.
		return call(dir, "firewall.allow", appliance.AllowParams{Prefixes: fs.Args()}, nil)
	}
	return usageError(fmt.Sprintf("unknown firewall command %q", verb))
}

// runFirewall runs the role. dryRun never touches the kernel (dev mode).
func runFirewall(ctx context.Context, dir string, dryRun bool, log *slog.Logger) error {
	reload := make(chan os.Signal, 1)
	signal.Notify(reload, syscall.SIGHUP)
	defer signal.Stop(reload)
	return firewall.Run(ctx, firewall.Options{
		PolicyPath: appliance.FirewallPolicyPath(dir),
		SocketPath: appliance.FirewallSocket(dir),
		StatePath:  appliance.FirewallStatePath(dir),
		Logger:     log.With("service", "firewall"),
		DryRun:     dryRun,
		Reload:     reload,
	})
}

func firewallShow(dir, verb string, env Env) error {
	resp, err := firewall.Call(appliance.FirewallSocket(dir), firewall.Request{Type: verb})
	if err != nil {
		return notRunning(err)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	switch verb {
	case "show":
		fmt.Fprint(env.Stdout, resp.Ruleset)
	case "bans":
		fmt.Fprintln(tw, "ADDRESS\tREMAINING")
		for _, b := range resp.Bans {
			fmt.Fprintf(tw, "%s\t%s\n", b.IP, time.Duration(b.Remaining).Round(time.Second))
		}
	case "counters":
		fmt.Fprintln(tw, "RULE\tPACKETS\tBYTES")
		for name, c := range resp.Counters {
			fmt.Fprintf(tw, "%s\t%d\t%d\n", name, c.Packets, c.Bytes)
		}
	}
	return tw.Flush()
}

func firewallBan(dir, verb string, args []string, env Env) error {
	if len(args) < 1 || len(args) > 2 || (verb == "unban" && len(args) != 1) {
		return usageError("use: firewall ban IP [DURATION] | firewall unban IP")
	}
	ip, err := netip.ParseAddr(args[0])
	if err != nil {
		return fmt.Errorf("%q is not an IP address", args[0])
	}
	req := firewall.Request{Type: verb, IP: ip}
	if len(args) == 2 {
		d, err := time.ParseDuration(args[1])
		if err != nil || d <= 0 {
			return fmt.Errorf("bad duration %q: use e.g. 30m, 12h", args[1])
		}
		req.Duration = firewall.Duration(d)
	}
	if _, err := firewall.Call(appliance.FirewallSocket(dir), req); err != nil {
		return notRunning(err)
	}
	fmt.Fprintf(env.Stdout, "%sned %s\n", verb, ip)
	return nil
}

// notRunning adds a hint when the role's socket is not there.
func notRunning(err error) error {
	return fmt.Errorf("%w (is the firewall role running? 'facteur firewall' as root, or 'facteur dev')", err)
}
