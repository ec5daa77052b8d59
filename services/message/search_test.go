package message

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestMatchText(t *testing.T) {
	tests := []struct {
		msg, needle      string
		wantText, wantBd bool // SEARCH TEXT, SEARCH BODY
	}{
		{"simple.eml", "lunch", true, true},
		{"simple.eml", "ON FRIDAY?", true, false},
		{"simple.eml", "alice@example", true, false},
		{"simple.eml", "soup there is\r\nexcellent", false, false},
		{"simple.eml", "", true, true},
		{"alternative.eml", "café news", true, true},
		{"alternative.eml", "CAFÉ NEWS", true, true},
		{"alternative.eml", "a very long line that is wrapped", true, true},
		{"alternative.eml", "5 €", true, true},
		{"alternative.eml", "<b>terrace</b>.", true, true},
		{"alternative.eml", "epilogue", false, false},
		{"encoded-words.eml", "échange de données", true, false},
		{"encoded-words.eml", "Renée “Q”", true, false},
		{"encoded-words.eml", "résumé de la réunion", true, true},
		{"encoded-words.eml", "“quoted” text", true, true},
		{"encoded-words.eml", "naïve", false, false},
		{"mixed-attachment.eml", "%PDF", false, false},
		{"mixed-attachment.eml", "see the attachment", true, true},
		{"nested-rfc822.eml", "news@example.com", true, true},
		{"nested-rfc822.eml", "terrace opens <img", true, true},
		{"nested-rfc822.eml", "GIF89a", false, false},
		{"broken-bad-base64.eml", "HELLO WORLD!!", true, true},
		{"qp-text.eml", "vite pédagogues", true, true},
		{"digest.eml", "second post body", true, true},
		{"lf-only.eml", "LF only.\nSecond", true, true},
		{"empty.eml", "x", false, false},
		{"unknown-cte.eml", "begin 644", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.msg+"/"+tc.needle, func(t *testing.T) {
			msg := load(t, tc.msg)
			info := mustParse(t, msg)
			for _, bodyOnly := range []bool{false, true} {
				want := tc.wantText
				if bodyOnly {
					want = tc.wantBd
				}
				got, err := MatchText(bytes.NewReader(msg), info, tc.needle, bodyOnly)
				if err != nil || got != want {
					t.Errorf("bodyOnly %v: got %v, %v, want %v", bodyOnly, got, err, want)
				}
			}
		})
	}
}

// TestMatchTextAcrossReads puts the needle, and multi-byte characters,
// across the boundaries of the 32 KiB reads.
func TestMatchTextAcrossReads(t *testing.T) {
	for _, charset := range []string{"utf-8", "iso-8859-1"} {
		for n := (32 << 10) - 12; n <= 32<<10; n++ {
			t.Run(fmt.Sprint(charset, n), func(t *testing.T) {
				needle, enc, e := "Zoë señor", "Zoë señor", "é"
				if charset != "utf-8" {
					enc, e = "Zo\xeb se\xf1or", "\xe9"
				}
				prefix := strings.Repeat("x", n%2) + strings.Repeat(e, n/len(e))
				prefix = prefix[:n]
				msg := "Content-Type: text/plain; charset=" + charset + "\r\n\r\n" + prefix + enc + prefix
				info := mustParse(t, []byte(msg))
				got, err := MatchText(strings.NewReader(msg), info, strings.ToUpper(needle), true)
				if err != nil || !got {
					t.Errorf("got %v, %v, want true", got, err)
				}
				got, _ = MatchText(strings.NewReader(msg), info, "Zoë señora", true)
				if got {
					t.Errorf("found a needle that is not there")
				}
			})
		}
	}
}

// TestMatcher compares the matcher with strings.Contains on random text
// over a small alphabet, where KMP's fallbacks matter.
func TestMatcher(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	random := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "aAbB"[rng.IntN(4)]
		}
		return string(b)
	}
	for i := 0; i < 2000; i++ {
		hay, needle := random(rng.IntN(40)), random(1+rng.IntN(6))
		m := newMatcher(needle)
		got := false
		for _, r := range hay {
			got = got || m.feed(r)
		}
		if want := strings.Contains(strings.ToLower(hay), strings.ToLower(needle)); got != want {
			t.Fatalf("%q in %q: got %v, want %v", needle, hay, got, want)
		}
	}
}

func TestFold(t *testing.T) {
	tests := []struct{ a, b rune }{
		{'a', 'A'}, {'k', 'K'}, {'k', '\u212a'}, {'s', 'ſ'}, {'é', 'É'}, {'σ', 'ς'}, {'σ', 'Σ'}, {'ж', 'Ж'},
	}
	for _, tc := range tests {
		if fold(tc.a) != fold(tc.b) {
			t.Errorf("fold(%q) = %q, fold(%q) = %q: want equal", tc.a, fold(tc.a), tc.b, fold(tc.b))
		}
	}
	if fold('a') == fold('b') {
		t.Errorf("fold('a') == fold('b')")
	}
}

func TestMatchTextCharsets(t *testing.T) {
	tests := []struct{ charset, enc, body, needle string }{
		{"koi8-r", "8bit", "\xd0\xd2\xc9\xd7\xc5\xd4, \xcd\xc9\xd2", "ПРИВЕТ, мир"},
		{"ISO-2022-JP", "7bit", "\x1b$B$3$s$K$A$O\x1b(B", "こんにちは"},
		{"utf-16le", "base64", "QQBCAEMA", "abc"},
		{"x-unknown", "quoted-printable", "caf=C3=A9", "CAFÉ"},
	}
	for _, tc := range tests {
		t.Run(tc.charset, func(t *testing.T) {
			msg := "Content-Type: text/plain; charset=" + tc.charset + "\r\nContent-Transfer-Encoding: " + tc.enc + "\r\n\r\n" + tc.body
			info := mustParse(t, []byte(msg))
			if got, err := MatchText(strings.NewReader(msg), info, tc.needle, true); err != nil || !got {
				t.Errorf("got %v, %v, want true", got, err)
			}
		})
	}
}

// failingReaderAt fails reads past its data, like storage going away.
type failingReaderAt struct{ data []byte }

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > int64(len(f.data)) {
		return 0, fmt.Errorf("disk on fire")
	}
	return copy(p, f.data[off:]), nil
}

func TestMatchTextReadError(t *testing.T) {
	msg := load(t, "simple.eml")
	info := mustParse(t, msg)
	if _, err := MatchText(failingReaderAt{msg[:400]}, info, "nothing", true); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("got %v, want the read error", err)
	}
}
