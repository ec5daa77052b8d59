// Command mailbench measures Facteur against Postfix+Dovecot; see
// bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"facteur/bench/mailbench"
)

func main() {
	d := mailbench.Defaults
	var cfg mailbench.Config
	flag.IntVar(&cfg.Messages, "messages", d.Messages, "messages of the SMTP and end-to-end load")
	flag.IntVar(&cfg.Large, "large", d.Large, "messages in the large mailbox (0 skips that phase)")
	flag.IntVar(&cfg.Size, "size", d.Size, "bytes per message")
	flag.IntVar(&cfg.Conns, "conns", d.Conns, "concurrent SMTP connections")
	flag.IntVar(&cfg.PerConn, "per-conn", d.PerConn, "messages per SMTP connection")
	flag.IntVar(&cfg.Runs, "runs", d.Runs, "FETCH and SEARCH runs on the large mailbox")
	flag.DurationVar(&cfg.Poll, "poll", d.Poll, "NOOP interval of the end-to-end watcher")
	flag.DurationVar(&cfg.Timeout, "timeout", d.Timeout, "limit of each phase")
	flag.BoolVar(&cfg.SkipFacteur, "skip-facteur", false, "do not measure facteur")
	flag.BoolVar(&cfg.SkipClassic, "skip-classic", false, "do not measure postfix+dovecot")
	flag.StringVar(&cfg.FacteurBin, "facteur", "", "facteur binary (default: build the tree at -root)")
	flag.StringVar(&cfg.Root, "root", ".", "the facteur module")
	flag.StringVar(&cfg.Dir, "dir", "", "parent of the scratch directories (default $TMPDIR); must be on a real disk")
	flag.StringVar(&cfg.Out, "out", "bench/results", "directory for results.json and results.md (empty: none)")
	flag.BoolVar(&cfg.Keep, "keep", false, "keep the scratch directories and logs")
	flag.Parse()
	cfg.Log = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := mailbench.Run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "mailbench: %v\n", err)
		os.Exit(1)
	}
}
