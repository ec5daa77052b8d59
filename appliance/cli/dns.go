package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"facteur/appliance"
	"facteur/resolver"
)

// dnsCmd is both the dns role ("facteur dns [-data DIR] [-bind IP]") and
// "facteur dns records [DOMAIN]", which prints the zones the role serves.
func dnsCmd(ctx context.Context, args []string, env Env) error {
	if len(args) > 0 && args[0] == "records" {
		return dnsRecords(args[1:], env)
	}
	fs, data := newFlags("dns", env)
	bind := fs.String("bind", "", "listen on this IP address only")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("unknown dns command %q", fs.Arg(0)))
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, nil))
	return runDNS(ctx, dataDir(*data, env, false), *bind, appliance.StandardPorts.DNS, log)
}

// runDNS serves the zones of the snapshot in dataDir on bind:port.
func runDNS(ctx context.Context, dataDir, bind string, port int, log *slog.Logger) error {
	return resolver.Run(ctx, resolver.Options{
		SnapshotPath: appliance.ZonesPath(dataDir),
		Listen:       []string{net.JoinHostPort(bind, strconv.Itoa(port))},
		Logger:       log.With("service", "dns"),
	})
}

func dnsRecords(args []string, env Env) error {
	fs, data := newFlags("dns records", env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageError("dns records takes at most one domain")
	}
	text, err := resolver.Records(appliance.ZonesPath(dataDir(*data, env, false)), fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprint(env.Stdout, text)
	return nil
}
