package mailbench

import (
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	tests := []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median odd", ms(5, 1, 3), 50, 3 * time.Millisecond},
		{"median even", ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{"p99 of 100", ms(make([]int, 99)...), 99, 0},
		{"max", ms(1, 9, 5), 100, 9 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.in, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.in, tt.p, got, tt.want)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	date := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, seq := range []int{0, 1, 99, 100, 12345} {
		m := string(Message(seq, 10240, date))
		if len(m) < 10240 || len(m) > 10240+200 {
			t.Errorf("message %d: %d bytes, want about 10240", seq, len(m))
		}
		if got, want := strings.Contains(m, RareWord), seq%RareEvery == 0; got != want {
			t.Errorf("message %d contains %q: %v, want %v", seq, RareWord, got, want)
		}
		if strings.Contains(strings.ReplaceAll(m, "\r\n", ""), "\n") || strings.Contains(strings.ReplaceAll(m, "\r\n", ""), "\r") {
			t.Errorf("message %d has a bare CR or LF", seq)
		}
		if m != string(Message(seq, 10240, date)) {
			t.Errorf("message %d differs between two calls", seq)
		}
		subj := m[strings.Index(m, "Subject: ")+len("Subject: "):]
		subj = subj[:strings.Index(subj, "\r\n")]
		if got, ok := SeqFromSubject(subj); !ok || got != seq {
			t.Errorf("SeqFromSubject(%q) = %d, %v; want %d", subj, got, ok, seq)
		}
	}
	if got := RareCount(100000); got != 1000 {
		t.Errorf("RareCount(100000) = %d, want 1000", got)
	}
	if got := RareCount(150); got != 2 {
		t.Errorf("RareCount(150) = %d, want 2 (messages 0 and 100)", got)
	}
}

func BenchmarkMessage(b *testing.B) {
	date := time.Now()
	for i := 0; b.Loop(); i++ {
		Message(i, 10240, date)
	}
}
