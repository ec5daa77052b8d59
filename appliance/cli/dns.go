package cli

import (
	"net/netip"

	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"facteur/resolver/zone"

	"facteur/appliance"
	"facteur/resolver"
)

// dnsCmd is both the dns role ("facteur dns [-data DIR] [-bind IP]") and
// "facteur dns records [DOMAIN]", which prints the zones the role serves.
func dnsCmd(ctx context.Context, args []string, env Env) error {
	if len(args) > 0 {
		switch args[0] {
		case "records":
			return dnsRecords(args[1:], env)
		case "add", "del":
			return dnsRecord(args[0], args[1:], env)
		case "secondary":
			return dnsSecondary(args[1:], env)
		case "forwarders":
			return dnsLAN("forwarders", args[1:], env)
		case "host":
			return dnsLAN("host", args[1:], env)
		case "dmarc":
			return dnsDMARC(args[1:], env)
		}
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

// dnsRecord is "dns add|del DOMAIN RECORD": a record kept in the domain's
// zone, in zone-file syntax relative to the domain ("www 300 IN A 192.0.2.10").
func dnsRecord(verb string, args []string, env Env) error {
	fs, data := newFlags("dns "+verb, env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageError(fmt.Sprintf("use: dns %s DOMAIN 'NAME [TTL] TYPE DATA'", verb))
	}
	p := appliance.DNSParams{Domain: fs.Arg(0), Record: fs.Arg(1)}
	return call(dataDir(*data, env, false), "dns."+verb, p, nil)
}

// dnsSecondary is "dns secondary add DOMAIN IP [KEYNAME SECRET]" and
// "dns secondary del DOMAIN IP": a secondary name server that may transfer
// the zone (with TSIG when a key is given) and is sent NOTIFY.
func dnsSecondary(args []string, env Env) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "del") {
		return usageError("use: dns secondary add DOMAIN IP [KEYNAME SECRET] | dns secondary del DOMAIN IP")
	}
	verb := args[0]
	fs, data := newFlags("dns secondary "+verb, env)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	a := fs.Args()
	if len(a) != 2 && !(verb == "add" && len(a) == 4) {
		return usageError("use: dns secondary add DOMAIN IP [KEYNAME SECRET] | dns secondary del DOMAIN IP")
	}
	ip, err := netip.ParseAddr(a[1])
	if err != nil {
		return fmt.Errorf("%q is not an IP address", a[1])
	}
	p := appliance.DNSParams{Domain: a[0], Secondary: zone.Secondary{Addr: ip}}
	if len(a) == 4 {
		p.Secondary.TSIGKey, p.Secondary.TSIGSecret = a[2], a[3]
	}
	return call(dataDir(*data, env, false), "dns."+verb, p, nil)
}

// dnsLAN is "dns forwarders [IP...]" (none: resolve from the root) and
// "dns host NAME [IP...]" (none: remove), the LAN side of the DNS.
func dnsLAN(what string, args []string, env Env) error {
	fs, data := newFlags("dns "+what, env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	p := appliance.LANParams{Forwarders: fs.Args()}
	if what == "host" {
		if fs.NArg() < 1 {
			return usageError("use: dns host NAME [IP...]")
		}
		p = appliance.LANParams{Name: fs.Arg(0), Addrs: fs.Args()[1:]}
	}
	return call(dataDir(*data, env, false), "dns."+what, p, nil)
}
