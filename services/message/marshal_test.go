package message

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestMarshalRoundTrip(t *testing.T) {
	for name, msg := range corpus(t) {
		t.Run(name, func(t *testing.T) {
			info := mustParse(t, msg)
			b, err := info.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := Unmarshal(b)
			if err != nil {
				t.Fatalf("Unmarshal: %v\n%s", err, b)
			}
			if g, w := formatBS(got.BodyStructure(true)), formatBS(info.BodyStructure(true)); g != w {
				t.Errorf("BODYSTRUCTURE:\ngot  %s\nwant %s", g, w)
			}
			if g, w := formatEnvelope(got.Envelope), formatEnvelope(info.Envelope); g != w {
				t.Errorf("ENVELOPE:\ngot  %s\nwant %s", g, w)
			}
			if !got.Envelope.Date.Equal(info.Envelope.Date) {
				t.Errorf("Date: got %v, want %v", got.Envelope.Date, info.Envelope.Date)
			}
			if g, w := flatSpans(got.Root), flatSpans(info.Root); !reflect.DeepEqual(g, w) {
				t.Errorf("parts:\ngot  %+v\nwant %+v", g, w)
			}
			again, _ := got.Marshal()
			if !bytes.Equal(again, b) {
				t.Errorf("not stable:\n%s\n%s", b, again)
			}
		})
	}
}

func flatSpans(p *Part) []span {
	var l []span
	for _, q := range flatten(p) {
		l = append(l, spanOf(q))
	}
	return l
}

// TestMarshalJSONStillRead: version 1 (JSON) stays readable, and its
// form does not change.
func TestMarshalJSONStillRead(t *testing.T) {
	info := mustParse(t, load(t, "simple.eml"))
	b, _ := info.marshalJSON()
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("Unmarshal(version 1): %v", err)
	}
	if g, w := formatEnvelope(got.Envelope), formatEnvelope(info.Envelope); g != w {
		t.Errorf("ENVELOPE from version 1:\ngot  %s\nwant %s", g, w)
	}
	bin, _ := info.Marshal()
	if len(bin) >= len(b) {
		t.Errorf("binary form is %d bytes, JSON %d: want it smaller", len(bin), len(b))
	}
	want := `{"v":1,"s":488,"e":{"d":"2024-10-07T10:15:00+02:00","s":"Lunch on Friday?",` +
		`"f":[{"n":"Alice Example","m":"alice","h":"example.org"}],` +
		`"t":[{"n":"Bob","m":"bob","h":"example.net"},{"m":"carol","h":"example.net"}],` +
		`"cc":[{"n":"Dave","m":"dave","h":"example.com"}],"irt":["prev@example.net"],"id":"20241007101500.1234@example.org"},` +
		`"r":{"h":0,"b":393,"e":488,"t":"text","st":"plain","p":{"charset":"us-ascii"},"en":"7bit","l":6,"ds":95}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestUnmarshalRejects(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not json", `{`, "unexpected end"},
		{"version", `{"v":2,"s":1,"r":{"h":0,"b":0,"e":1,"t":"text","st":"plain"}}`, "unknown version"},
		{"no root", `{"v":1,"s":1}`, "no root"},
		{"end beyond size", `{"v":1,"s":1,"r":{"h":0,"b":0,"e":2,"t":"text","st":"plain"}}`, "not within"},
		{"body before header", `{"v":1,"s":9,"r":{"h":5,"b":2,"e":9,"t":"text","st":"plain"}}`, "not within"},
		{"no type", `{"v":1,"s":1,"r":{"h":0,"b":0,"e":1}}`, "invalid type"},
		{"overlapping children", `{"v":1,"s":9,"r":{"h":0,"b":0,"e":9,"t":"multipart","st":"mixed","c":[` +
			`{"h":0,"b":0,"e":5,"t":"text","st":"plain"},{"h":4,"b":4,"e":9,"t":"text","st":"plain"}]}}`, "not within"},
		{"text with parts", `{"v":1,"s":9,"r":{"h":0,"b":0,"e":9,"t":"text","st":"plain","c":[{"h":0,"b":0,"e":5,"t":"text","st":"plain"}]}}`, "with parts"},
		{"message outside", `{"v":1,"s":9,"r":{"h":0,"b":2,"e":9,"t":"message","st":"rfc822","m":{"h":1,"b":2,"e":9,"t":"text","st":"plain"}}}`, "not within"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unmarshal([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestUnmarshalTruncated: every prefix of a valid binary Info is refused
// cleanly (no panic, an error), and so is trailing garbage.
func TestUnmarshalTruncated(t *testing.T) {
	for name, msg := range corpus(t) {
		b, _ := mustParse(t, msg).Marshal()
		for n := 1; n < len(b); n++ {
			if _, err := Unmarshal(b[:n]); err == nil {
				t.Errorf("%s: Unmarshal of %d of %d bytes: got no error", name, n, len(b))
			}
		}
		if _, err := Unmarshal(append(b, 0)); err == nil {
			t.Errorf("%s: trailing byte accepted", name)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, msg := range corpus(f) {
		b, _ := mustParse(f, msg).Marshal()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := Unmarshal(b)
		if err != nil {
			return
		}
		info.BodyStructure(true) // a decoded Info must be usable
		again, _ := info.Marshal()
		if _, err := Unmarshal(again); err != nil {
			t.Fatalf("re-marshalled Info does not decode: %v", err)
		}
	})
}
