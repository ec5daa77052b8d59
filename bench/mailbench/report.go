package mailbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Throughput is a count of messages over a time.
type Throughput struct {
	Messages int
	Seconds  float64
	Conns    int // SMTP connections opened
}

// Rate is messages per second.
func (t Throughput) Rate() float64 {
	if t.Seconds <= 0 {
		return 0
	}
	return float64(t.Messages) / t.Seconds
}

// Latency is the 250-to-visible latency, in milliseconds.
type Latency struct{ P50, P99, Max float64 }

// Timing is a repeated IMAP command, in milliseconds.
type Timing struct {
	First, Median float64
	Runs          []float64
}

// Result is what one system measured.
type Result struct {
	System, Version string
	Error           string `json:",omitempty"`

	Idle     Usage
	Accept   Throughput // 250 replies of the load
	EndToEnd Throughput // from the first MAIL to the last message visible over IMAP
	Latency  Latency
	LoadPeak Usage         // sampled during the load
	LoadCPU  time.Duration // CPU time of the system during the load
	LoadHWM  int64         // VmHWM after the load (single-process systems)

	FillAccept, FillVisible Throughput
	FillCPU                 time.Duration
	Select                  float64 // ms
	Fetch, Search           Timing
	LargePeak               Usage
	LargeHWM                int64 // VmHWM after the large-mailbox phase
}

// Machine describes where the run happened.
type Machine struct {
	CPUs   int
	CPU    string
	Memory string
	Disk   string
	Kernel string
	Commit string // git describe of the facteur tree
	// LoadAvg is /proc/loadavg at the start and the end: the machine is
	// shared, and other work skews the figures.
	LoadAvg [2]string
}

// Report is a whole run.
type Report struct {
	Start, End time.Time
	Config     Config
	Machine    Machine
	Results    []*Result
}

func (r *Report) result(name string) *Result {
	for _, x := range r.Results {
		if x.System == name && x.Error == "" {
			return x
		}
	}
	return nil
}

// row is a line of the table: a label and one cell per system.
type row struct {
	label string
	cell  func(*Result) string
}

func rows(cfg Config) []row {
	f1 := func(f func(*Result) float64) func(*Result) string {
		return func(r *Result) string { return fmt.Sprintf("%.0f", f(r)) }
	}
	cpuPer1000 := func(cpu time.Duration, n int) string {
		return fmt.Sprintf("%.2f s", cpu.Seconds()*1000/float64(n))
	}
	rs := []row{
		{"idle RSS (sum of processes)", func(r *Result) string { return fmt.Sprintf("%s (%d procs)", mb(r.Idle.RSS), r.Idle.Procs) }},
		{"idle RssAnon (sum)", func(r *Result) string { return mb(r.Idle.Anon) }},
		{fmt.Sprintf("SMTP accept, msg/s (%d x %d KiB, %d conns)", cfg.Messages, cfg.Size>>10, cfg.Conns), f1(func(r *Result) float64 { return r.Accept.Rate() })},
		{"end-to-end delivery, msg/s", f1(func(r *Result) float64 { return r.EndToEnd.Rate() })},
		{"250 -> visible over IMAP, p50 / p99 ms", func(r *Result) string { return fmt.Sprintf("%.0f / %.0f", r.Latency.P50, r.Latency.P99) }},
		{"CPU per 1000 messages (load)", func(r *Result) string { return cpuPer1000(r.LoadCPU, cfg.Messages) }},
		{"peak RSS during load (sampled sum)", func(r *Result) string { return mb(r.LoadPeak.RSS) }},
		{"peak PSS during load (sampled sum)", func(r *Result) string { return mb(r.LoadPeak.PSS) }},
		{"peak RssAnon during load (sampled sum)", func(r *Result) string { return mb(r.LoadPeak.Anon) }},
		{"VmHWM after load", func(r *Result) string { return mbOrNA(r.LoadHWM) }},
	}
	if cfg.Large > 0 {
		rs = append(rs, []row{
			{fmt.Sprintf("fill %d msgs: accept msg/s", cfg.Large), f1(func(r *Result) float64 { return r.FillAccept.Rate() })},
			{"fill: all visible after, s", f1(func(r *Result) float64 { return r.FillVisible.Seconds })},
			{"CPU per 1000 messages (fill)", func(r *Result) string { return cpuPer1000(r.FillCPU, cfg.Large) }},
			{"first SELECT, ms", f1(func(r *Result) float64 { return r.Select })},
			{"FETCH 1:* (FLAGS ENVELOPE) first / median ms", func(r *Result) string { return fmt.Sprintf("%.0f / %.0f", r.Fetch.First, r.Fetch.Median) }},
			{"UID SEARCH BODY (1%) first / median ms", func(r *Result) string { return fmt.Sprintf("%.0f / %.0f", r.Search.First, r.Search.Median) }},
			{"peak RSS, large phase (sampled sum)", func(r *Result) string { return mb(r.LargePeak.RSS) }},
			{"peak PSS, large phase (sampled sum)", func(r *Result) string { return mb(r.LargePeak.PSS) }},
			{"peak RssAnon, large phase (sampled sum)", func(r *Result) string { return mb(r.LargePeak.Anon) }},
			{"VmHWM after large phase", func(r *Result) string { return mbOrNA(r.LargeHWM) }},
		}...)
	}
	return rs
}

// Target is one of the goals the run is checked against.
type Target struct {
	Goal   string
	Figure string
	Met    bool
}

// Targets checks the goals that the figures allow checking.
func (r *Report) Targets() []Target {
	f, c := r.result("facteur"), r.result("postfix+dovecot")
	var ts []Target
	if f != nil && c != nil {
		ratio := f.EndToEnd.Rate() / c.EndToEnd.Rate()
		ts = append(ts, Target{"end-to-end delivery >= 1.5x Postfix+Dovecot", fmt.Sprintf("%.2fx (%.0f vs %.0f msg/s)", ratio, f.EndToEnd.Rate(), c.EndToEnd.Rate()), ratio >= 1.5})
		if r.Config.Large > 0 {
			ts = append(ts,
				Target{"FETCH 1:* (FLAGS ENVELOPE) no slower than Dovecot", fmt.Sprintf("%.0f vs %.0f ms (%.2fx)", f.Fetch.Median, c.Fetch.Median, f.Fetch.Median/c.Fetch.Median), f.Fetch.Median <= c.Fetch.Median},
				Target{"UID SEARCH BODY no slower than Dovecot", fmt.Sprintf("%.0f vs %.0f ms (%.2fx)", f.Search.Median, c.Search.Median, f.Search.Median/c.Search.Median), f.Search.Median <= c.Search.Median})
		}
	}
	if f != nil {
		ts = append(ts, Target{"facteur idle RSS < 60 MB", mb(f.Idle.RSS), f.Idle.RSS < 60e6})
		peak := max(f.LoadHWM, f.LargeHWM, f.LoadPeak.RSS, f.LargePeak.RSS)
		anon := max(f.LoadPeak.Anon, f.LargePeak.Anon)
		ts = append(ts, Target{"facteur RSS < 256 MB during the load (VmHWM)",
			fmt.Sprintf("%s (anonymous part, sampled: %s)", mb(peak), mb(anon)), peak < 256e6})
	}
	return ts
}

// WriteText prints the table and the targets.
func (r *Report) WriteText(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "measure")
	for _, x := range r.Results {
		fmt.Fprintf(tw, "\t%s", x.System)
	}
	fmt.Fprintln(tw)
	for _, rw := range rows(r.Config) {
		fmt.Fprint(tw, rw.label)
		for _, x := range r.Results {
			fmt.Fprintf(tw, "\t%s", cell(rw, x))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	for _, x := range r.Results {
		if x.Error != "" {
			fmt.Fprintf(w, "%s failed: %s\n", x.System, x.Error)
		}
	}
	fmt.Fprintln(w)
	for _, t := range r.Targets() {
		fmt.Fprintf(w, "%-8s %s: %s\n", metWord(t.Met), t.Goal, t.Figure)
	}
}

// Markdown returns the table and targets as Markdown.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run of %s (%.0f min). Machine: %d CPUs (%s), %s RAM, %s; kernel %s; facteur %s; "+
		"load average %s at the start, %s at the end.\n\n",
		r.Start.Format("2006-01-02 15:04 MST"), r.End.Sub(r.Start).Minutes(), r.Machine.CPUs, r.Machine.CPU,
		r.Machine.Memory, r.Machine.Disk, r.Machine.Kernel, r.Machine.Commit, r.Machine.LoadAvg[0], r.Machine.LoadAvg[1])
	for _, x := range r.Results {
		fmt.Fprintf(&b, "- %s: %s\n", x.System, x.Version)
		if x.Error != "" {
			fmt.Fprintf(&b, "  - failed: %s\n", x.Error)
		}
	}
	b.WriteString("\n| measure |")
	for _, x := range r.Results {
		fmt.Fprintf(&b, " %s |", x.System)
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", len(r.Results)) + "\n")
	for _, rw := range rows(r.Config) {
		fmt.Fprintf(&b, "| %s |", rw.label)
		for _, x := range r.Results {
			fmt.Fprintf(&b, " %s |", cell(rw, x))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n| target | figure | |\n|---|---|---|\n")
	for _, t := range r.Targets() {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.Goal, t.Figure, metWord(t.Met))
	}
	return b.String()
}

// Save writes results.json and results.md to dir.
func (r *Report) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return errors.Join(
		os.WriteFile(filepath.Join(dir, "results.json"), append(j, '\n'), 0o644),
		os.WriteFile(filepath.Join(dir, "results.md"), []byte(r.Markdown()), 0o644))
}

// cell is a figure of x; a system that failed shows what it measured
// before, its error is printed below the table.
func cell(rw row, x *Result) string {
	c := rw.cell(x)
	if x.Error != "" {
		c += " (failed run)"
	}
	return c
}

func metWord(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT MET"
}

// mb formats bytes as decimal megabytes.
func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

func mbOrNA(b int64) string {
	if b == 0 {
		return "n/a"
	}
	return mb(b)
}

func describeMachine(ctx context.Context, root string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Commit: gitDescribe(ctx, root)}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if v, err := procFieldKB("/proc/meminfo", "MemTotal"); err == nil {
		m.Memory = fmt.Sprintf("%.1f GiB", float64(v)/(1<<30))
	}
	m.Disk = diskOf(ctx, os.TempDir())
	m.LoadAvg[0] = loadAvg()
	if out, err := run(ctx, 5*time.Second, nil, "uname", "-r"); err == nil {
		m.Kernel = strings.TrimSpace(out)
	}
	return m
}

// diskOf names the block device holding dir and whether it rotates.
func diskOf(ctx context.Context, dir string) string {
	out, err := run(ctx, 5*time.Second, nil, "df", "--output=source", dir)
	if err != nil {
		return "unknown disk"
	}
	f := strings.Fields(out)
	dev := filepath.Base(f[len(f)-1])
	kind := "unknown"
	if b, err := os.ReadFile(filepath.Join("/sys/block", dev, "queue/rotational")); err == nil {
		kind = map[bool]string{true: "rotational", false: "non-rotational"}[strings.TrimSpace(string(b)) == "1"]
	}
	if strings.HasPrefix(dev, "vd") {
		// A virtio disk's flag says nothing of the medium behind it.
		return fmt.Sprintf("virtio disk %s (sysfs: %s)", dev, kind)
	}
	return fmt.Sprintf("%s disk %s", kind, dev)
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func gitDescribe(ctx context.Context, root string) string {
	out, err := run(ctx, 10*time.Second, nil, "git", "-C", root, "describe", "--always", "--dirty")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(out)
}
