package cli

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"facteur/appliance"
	"facteur/appliance/ctl"
	"facteur/services/mailstore"
)

func call(dir, method string, params, out any) error {
	return ctl.Call(appliance.CtlPath(dir), method, params, out)
}

func setup(args []string, env Env) error {
	fs, data := newFlags("setup", env)
	hostname := fs.String("hostname", "", "the box's mail host name (default mail.DOMAIN)")
	domain := fs.String("domain", "", "the first mail domain")
	adminAddr := fs.String("admin", "", "the admin's address, in that domain (password on stdin)")
	var ips, lans stringList
	fs.Var(&ips, "ip", "public IP address as published in DNS (repeatable)")
	fs.Var(&lans, "lan", "LAN prefix allowed to use recursive DNS and the web UI (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *domain == "" || *adminAddr == "" {
		return usageError("setup needs -domain and -admin")
	}
	pw, err := readPassword(env, "Admin password: ")
	if err != nil {
		return err
	}
	p := appliance.SetupParams{Hostname: *hostname, Domain: *domain, Admin: *adminAddr, Password: pw, PublicIPs: ips, LAN: lans}
	if err := call(dataDir(*data, env, false), "setup", p, nil); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Set up: %s receives mail for %s; admin is %s.\n", orDefault(*hostname, "mail."+*domain), *domain, *adminAddr)
	return nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// admin runs "domain|user|alias|queue VERB [ARGS]".
func admin(noun string, args []string, env Env) error {
	if len(args) == 0 {
		return usageError(noun + " needs a verb")
	}
	verb := args[0]
	fs, data := newFlags(noun+" "+verb, env)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	dir := dataDir(*data, env, false)
	a := fs.Args()
	want := map[string]int{
		"domain add": 1, "domain del": 1, "domain list": 0,
		"user add": 1, "user del": 1, "user passwd": 1, "user list": 0, "user quota": 2,
		"user disable": 1, "user enable": 1,
		"alias add": 2, "alias del": 1, "alias list": 0, "queue list": 0,
		"queue retry": 1, "queue drop": 1, "queue lifetime": 1, "user sendas": 2,
	}
	n, ok := want[noun+" "+verb]
	if !ok {
		return usageError(fmt.Sprintf("unknown command %q", noun+" "+verb))
	}
	if len(a) != n {
		return usageError(fmt.Sprintf("%s %s takes %d argument(s)", noun, verb, n))
	}
	switch noun {
	case "domain":
		return domainCmd(dir, verb, a, env)
	case "user":
		return userCmd(dir, verb, a, env)
	case "alias":
		return aliasCmd(dir, verb, a, env)
	default:
		return queueCmd(dir, verb, a, env)
	}
}

func domainCmd(dir, verb string, a []string, env Env) error {
	if verb == "list" {
		var names []string
		if err := call(dir, "domain.list", nil, &names); err != nil {
			return err
		}
		for _, n := range names {
			fmt.Fprintln(env.Stdout, n)
		}
		return nil
	}
	return call(dir, "domain."+verb, appliance.NameParams{Name: a[0]}, nil)
}

func userCmd(dir, verb string, a []string, env Env) error {
	switch verb {
	case "list":
		var users []appliance.UserInfo
		if err := call(dir, "user.list", nil, &users); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ADDRESS\tUSED\tQUOTA\tROLE")
		for _, u := range users {
			role := map[bool]string{true: "admin", false: "user"}[u.Admin]
			if u.Disabled {
				role += " (disabled)"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", u.Address, u.Used, quotaText(u.Quota), role)
		}
		return tw.Flush()
	case "add", "passwd":
		pw, err := readPassword(env, "Password: ")
		if err != nil {
			return err
		}
		return call(dir, "user."+verb, appliance.UserParams{Address: a[0], Password: pw}, nil)
	case "sendas":
		var list []string
		if a[1] != "" && a[1] != "-" {
			list = strings.Split(a[1], ",")
		}
		return call(dir, "user.sendas", appliance.UserParams{Address: a[0], SendAs: list}, nil)
	case "quota":
		q, err := parseSize(a[1])
		if err != nil {
			return err
		}
		return call(dir, "user.quota", appliance.UserParams{Address: a[0], Quota: q}, nil)
	}
	return call(dir, "user."+verb, appliance.UserParams{Address: a[0]}, nil)
}

func quotaText(q int64) string {
	if q == 0 {
		return "none"
	}
	return strconv.FormatInt(q, 10)
}

// parseSize reads "0", "500000", "200M", "2G".
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q: use bytes or a number with K, M or G", s)
	}
	return n * mult, nil
}

func aliasCmd(dir, verb string, a []string, env Env) error {
	switch verb {
	case "list":
		var aliases []mailstore.Alias
		if err := call(dir, "alias.list", nil, &aliases); err != nil {
			return err
		}
		for _, al := range aliases {
			fmt.Fprintf(env.Stdout, "%s -> %s\n", al.Address, strings.Join(al.Targets, ","))
		}
		return nil
	case "add":
		return call(dir, "alias.add", appliance.AliasParams{Address: a[0], Targets: strings.Split(a[1], ",")}, nil)
	}
	return call(dir, "alias.del", appliance.AliasParams{Address: a[0]}, nil)
}

func status(args []string, env Env) error {
	fs, data := newFlags("status", env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var st appliance.Status
	if err := call(dataDir(*data, env, false), "status", nil, &st); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "version %s, host %s, set up: %v, up %s, queue: %d, failed logins: %v\n",
		st.Version, st.Hostname, st.SetupDone, st.Uptime, st.QueueLength, st.AuthFailed)
	return nil
}

// version prints this program's version and, when a core is running on
// the data directory, the core's.
func version(args []string, env Env) error {
	fs, data := newFlags("version", env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "facteur %s\n", appliance.Version)
	var st appliance.Status
	if err := call(dataDir(*data, env, false), "status", nil, &st); err == nil {
		fmt.Fprintf(env.Stdout, "running core %s\n", st.Version)
	}
	return nil
}
