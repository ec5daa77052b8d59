package mailbench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// procStatusKB returns a "kB" field of /proc/PID/status, such as VmRSS or
// VmHWM, in bytes.
func procStatusKB(pid int, field string) (int64, error) {
	return procFieldKB(filepath.Join("/proc", strconv.Itoa(pid), "status"), field)
}

func procFieldKB(path, field string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", path, field, err)
		}
		return v << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no %s", path, field)
}

// procStat is what mailbench reads from /proc/PID/stat.
type procStat struct {
	ppid int
	// cpu is utime+stime plus cutime+cstime (the CPU time of reaped
	// children), in clock ticks.
	cpu int64
}

func readProcStat(pid int) (procStat, error) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	// The command name is in parentheses and may contain spaces.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(raw[i+1:]))
	// f[0] is field 3 (state); ppid is field 4, utime..cstime fields 14..17.
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	var st procStat
	st.ppid, _ = strconv.Atoi(f[1])
	for _, s := range f[11:15] {
		n, _ := strconv.ParseInt(s, 10, 64)
		st.cpu += n
	}
	return st, nil
}

// clockTick is USER_HZ, 100 on every Linux architecture Go supports here.
const clockTick = 100

// tree returns roots and all their descendants that are alive.
func tree(roots []int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readProcStat(pid); err == nil {
			children[st.ppid] = append(children[st.ppid], pid)
		}
	}
	var out []int
	seen := map[int]bool{}
	var walk func(int)
	walk = func(p int) {
		if seen[p] {
			return
		}
		seen[p] = true
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(p))); err != nil {
			return
		}
		out = append(out, p)
		for _, c := range children[p] {
			walk(c)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return out
}

// Usage is the memory and CPU of a system's processes at one moment.
type Usage struct {
	Procs int
	RSS   int64 // sum of VmRSS, bytes
	Anon  int64 // sum of RssAnon, bytes: RSS less mapped files (Badger mmaps its files)
	PSS   int64 // sum of Pss from smaps_rollup, bytes: shared pages split
	CPU   time.Duration
}

// measure sums the usage of roots and their descendants.
func measure(roots []int) Usage {
	var u Usage
	for _, pid := range tree(roots) {
		rss, err := procStatusKB(pid, "VmRSS")
		if err != nil {
			continue // gone, or a kernel thread
		}
		u.Procs++
		u.RSS += rss
		if anon, err := procStatusKB(pid, "RssAnon"); err == nil {
			u.Anon += anon
		}
		if pss, err := procFieldKB(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"), "Pss"); err == nil {
			u.PSS += pss
		}
		if st, err := readProcStat(pid); err == nil {
			u.CPU += time.Duration(st.cpu) * time.Second / clockTick
		}
	}
	return u
}

// sampler records the peak memory of a set of processes while a phase runs.
type sampler struct {
	roots  func() []int
	every  time.Duration
	cancel context.CancelFunc
	done   chan struct{}

	// mu guards peak.
	mu   sync.Mutex
	peak Usage
}

// startSampler samples roots() every interval until stop is called.
func startSampler(roots func() []int, every time.Duration) *sampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sampler{roots: roots, every: every, cancel: cancel, done: make(chan struct{})}
	go s.run(ctx)
	return s
}

func (s *sampler) run(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		s.sample()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *sampler) sample() {
	u := measure(s.roots())
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.RSS > s.peak.RSS {
		s.peak.RSS, s.peak.Procs = u.RSS, u.Procs
	}
	s.peak.PSS = max(s.peak.PSS, u.PSS)
	s.peak.Anon = max(s.peak.Anon, u.Anon)
}

// stop ends the sampling, takes a last sample and returns the peaks.
func (s *sampler) stop() Usage {
	s.cancel()
	<-s.done
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}
