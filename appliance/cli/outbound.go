package cli

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"facteur/appliance"
	"facteur/appliance/config"
	"facteur/services/mailstore"
)

// queueCmd runs "queue list", "queue retry ID|all", "queue drop ID",
// "queue lifetime DAYS".
func queueCmd(dir, verb string, a []string, env Env) error {
	switch verb {
	case "list":
		return queueList(dir, env)
	case "lifetime":
		days, err := strconv.Atoi(a[0])
		if err != nil {
			return usageError(fmt.Sprintf("queue lifetime: %q is not a number of days", a[0]))
		}
		return call(dir, "queue.lifetime", appliance.LifetimeParams{Days: days}, nil)
	}
	p := appliance.QueueParams{All: a[0] == "all"}
	if !p.All {
		id, err := strconv.ParseUint(a[0], 10, 64)
		if err != nil {
			return usageError(fmt.Sprintf("queue %s: %q is not an entry ID (see facteur queue list)", verb, a[0]))
		}
		p.ID = id
	}
	return call(dir, "queue."+verb, p, nil)
}

func queueList(dir string, env Env) error {
	var q []mailstore.QueueEntry
	if err := call(dir, "queue.list", nil, &q); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFROM\tTO\tSIZE\tQUEUED\tATTEMPTS\tNEXT ATTEMPT\tLAST ERROR")
	for _, e := range q {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%d\t%s\t%s\n", e.ID, orDefault(e.From, "<>"), strings.Join(e.To, ","), e.Size,
			e.Created.Local().Format(time.DateTime), e.Attempts, e.NextAttempt.Local().Format(time.DateTime), e.LastError)
	}
	return tw.Flush()
}

// smarthostCmd runs "smarthost set HOST:PORT -user NAME [-insecure]" (the
// password on stdin) and "smarthost clear".
func smarthostCmd(args []string, env Env) error {
	if len(args) == 0 {
		return usageError("smarthost needs a verb: set or clear")
	}
	fs, data := newFlags("smarthost "+args[0], env)
	user := fs.String("user", "", "user name at the relay")
	insecure := fs.Bool("insecure", false, "accept any certificate from the relay")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	dir := dataDir(*data, env, false)
	switch {
	case args[0] == "clear" && fs.NArg() == 0:
		return call(dir, "smarthost.clear", nil, nil)
	case args[0] != "set" || fs.NArg() != 1:
		return usageError("usage: facteur smarthost set HOST:PORT -user NAME [-insecure] | clear")
	}
	host, port, err := net.SplitHostPort(fs.Arg(0))
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil {
		return usageError(fmt.Sprintf("%q is not HOST:PORT (port 587 or 465)", fs.Arg(0)))
	}
	pw, err := readPassword(env, "Relay password: ")
	if err != nil {
		return err
	}
	h := config.Smarthost{Host: host, Port: n, Username: *user, Password: pw, Insecure: *insecure}
	return call(dir, "smarthost.set", h, nil)
}

// dnsDMARC runs "dns dmarc DOMAIN none|quarantine|reject".
func dnsDMARC(args []string, env Env) error {
	fs, data := newFlags("dns dmarc", env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageError("usage: facteur dns dmarc DOMAIN none|quarantine|reject")
	}
	return call(dataDir(*data, env, false), "dns.dmarc", appliance.DMARCParams{Domain: fs.Arg(0), Policy: fs.Arg(1)}, nil)
}
