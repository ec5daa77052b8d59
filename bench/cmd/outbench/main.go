// Command outbench measures outbound delivery between two Facteur boxes:
// messages submitted to box A until they are all in a mailbox of box B.
// See bench/README.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"facteur/bench/mailbench"
)

func main() {
	cfg := mailbench.OutboundConfig{Log: os.Stderr}
	small := flag.Int("small", 2000, "messages of 10 KB")
	large := flag.Int("large", 100, "messages of 1 MB")
	flag.IntVar(&cfg.Conns, "conns", 8, "concurrent submission connections")
	flag.DurationVar(&cfg.Timeout, "timeout", 15*time.Minute, "limit of each run")
	flag.StringVar(&cfg.Bin, "facteur", "", "facteur binary (default: build the tree at -root)")
	flag.StringVar(&cfg.Root, "root", ".", "the facteur module")
	flag.StringVar(&cfg.Dir, "dir", "", "parent of the scratch directory (default $TMPDIR)")
	out := flag.String("out", "bench/results", "directory for outbound.json (empty: none)")
	flag.BoolVar(&cfg.Keep, "keep", false, "keep the scratch directory and logs")
	flag.Parse()
	cfg.Runs = []mailbench.OutboundRun{{Count: *small, Size: 10 << 10}, {Count: *large, Size: 1 << 20}}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := mailbench.RunOutbound(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "outbench: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%-10s %8s %10s %10s %10s\n", "size", "messages", "seconds", "msg/s", "MB/s")
	for _, r := range res {
		fmt.Printf("%-10d %8d %10.2f %10.1f %10.1f\n", r.Size, r.Count, r.Seconds, r.PerSec, r.MBPerSec)
	}
	if *out != "" {
		b, _ := json.MarshalIndent(map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "conns": cfg.Conns, "runs": res}, "", "  ")
		if err := os.WriteFile(filepath.Join(*out, "outbound.json"), append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "outbench: %v\n", err)
			os.Exit(1)
		}
	}
}
