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

func TestMarshalCompact(t *testing.T) {
	info := mustParse(t, load(t, "simple.eml"))
	b, _ := info.Marshal()
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
