package mailbench

import (
	"context"
	"errors"
	"time"
)

// samplePeriod is how often memory is sampled during a phase.
const samplePeriod = 250 * time.Millisecond

// loadPhase sends cfg.Messages to u while a watcher polls u's INBOX, and
// fills the accept, end-to-end and load memory figures of res.
func loadPhase(ctx context.Context, cfg Config, s System, u User, res *Result, logf func(string, ...any)) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	w, err := newWatcher(s.IMAPAddr(), u, cfg.Messages, cfg.Poll)
	if err != nil {
		return err
	}
	defer w.close()
	cpu0 := measure(s.Roots()).CPU
	smp := startSampler(s.Roots, samplePeriod)
	type watched struct {
		v   *Visibility
		err error
	}
	wc := make(chan watched, 1)
	go func() {
		v, err := w.watch(ctx)
		wc <- watched{v, err}
	}()
	logf("load: %d messages of %d bytes over %d connections", cfg.Messages, cfg.Size, cfg.Conns)
	sent, err := Send(ctx, Load{Addr: s.SMTPAddr(), Rcpt: u.Addr, N: cfg.Messages, Size: cfg.Size,
		Conns: cfg.Conns, PerConn: cfg.PerConn, Date: time.Now()})
	if err != nil {
		cancel()
		<-wc
		smp.stop()
		return err
	}
	res.Accept = Throughput{Messages: cfg.Messages, Seconds: sent.End.Sub(sent.Start).Seconds(), Conns: sent.Conns}
	logf("accepted %d messages in %.1fs: %.0f/s", cfg.Messages, res.Accept.Seconds, res.Accept.Rate())
	got := <-wc
	res.LoadPeak = smp.stop()
	res.LoadCPU = measure(s.Roots()).CPU - cpu0
	res.LoadHWM = hwm(s)
	if got.err != nil {
		return got.err
	}
	lat, last, err := latencies(sent, got.v)
	if err != nil {
		return err
	}
	res.EndToEnd = Throughput{Messages: cfg.Messages, Seconds: last.Sub(sent.Start).Seconds(), Conns: sent.Conns}
	res.Latency = Latency{P50: ms(percentile(lat, 50)), P99: ms(percentile(lat, 99)), Max: ms(percentile(lat, 100))}
	logf("end to end: %.0f/s, latency p50 %.1fms p99 %.1fms; peak RSS %s, CPU %.1fs",
		res.EndToEnd.Rate(), res.Latency.P50, res.Latency.P99, mb(res.LoadPeak.RSS), res.LoadCPU.Seconds())
	return nil
}

// latencies pairs each visible message with its 250 reply. A message seen
// before the client read its 250 counts as 0.
func latencies(sent *Sent, v *Visibility) ([]time.Duration, time.Time, error) {
	var lat []time.Duration
	var last time.Time
	for k, seq := range v.Seqs {
		if seq < 0 || seq >= len(sent.Acked) {
			return nil, last, errors.New("a visible message has no generated Subject")
		}
		lat = append(lat, max(v.Seen[k].Sub(sent.Acked[seq]), 0))
		if v.Seen[k].After(last) {
			last = v.Seen[k]
		}
	}
	return lat, last, nil
}

// largePhase fills u's INBOX with cfg.Large messages by SMTP and times
// SELECT, FETCH and SEARCH on it.
func largePhase(ctx context.Context, cfg Config, s System, u User, res *Result, logf func(string, ...any)) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	smp := startSampler(s.Roots, samplePeriod)
	defer func() { res.LargePeak = smp.stop(); res.LargeHWM = hwm(s) }()
	cpu0 := measure(s.Roots()).CPU
	logf("large mailbox: filling with %d messages", cfg.Large)
	sent, err := Send(ctx, Load{Addr: s.SMTPAddr(), Rcpt: u.Addr, N: cfg.Large, Size: cfg.Size,
		Conns: cfg.Conns, PerConn: cfg.PerConn, Date: time.Now().Add(-365 * 24 * time.Hour)})
	if err != nil {
		return err
	}
	res.FillAccept = Throughput{Messages: cfg.Large, Seconds: sent.End.Sub(sent.Start).Seconds(), Conns: sent.Conns}
	done, err := waitCount(ctx, s.IMAPAddr(), u, cfg.Large, time.Second)
	if err != nil {
		return err
	}
	res.FillVisible = Throughput{Messages: cfg.Large, Seconds: done.Sub(sent.Start).Seconds(), Conns: sent.Conns}
	res.FillCPU = measure(s.Roots()).CPU - cpu0
	logf("filled: accepted %.0f/s, all visible after %.0fs; CPU %.0fs", res.FillAccept.Rate(), res.FillVisible.Seconds, res.FillCPU.Seconds())
	lt, err := timeLarge(s.IMAPAddr(), u, cfg.Large, cfg.Runs)
	if err != nil {
		return err
	}
	res.Select = ms(lt.Select)
	res.Fetch = Timing{First: ms(lt.Fetch[0]), Median: ms(median(lt.Fetch)), Runs: msAll(lt.Fetch)}
	res.Search = Timing{First: ms(lt.Search[0]), Median: ms(median(lt.Search)), Runs: msAll(lt.Search)}
	logf("SELECT %.0fms, FETCH 1:* (FLAGS ENVELOPE) median %.0fms, UID SEARCH BODY median %.0fms",
		res.Select, res.Fetch.Median, res.Search.Median)
	return nil
}

// hwm is the peak RSS (VmHWM) of a single-process system, or 0.
func hwm(s System) int64 {
	r := s.Roots()
	if len(r) != 1 {
		return 0
	}
	v, _ := procStatusKB(r[0], "VmHWM")
	return v
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func msAll(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = ms(d)
	}
	return out
}
