package firewall

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPolicyJSONRoundTrip(t *testing.T) {
	for name, p := range goldenPolicies(t) {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back Policy
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(back, p) {
			t.Errorf("%s: round trip gave %+v, want %+v", name, back, p)
		}
	}
	var p Policy
	if err := json.Unmarshal([]byte(`{"bans":{"window":"90m"}}`), &p); err != nil || p.Bans.Window != Duration(90*time.Minute) {
		t.Errorf("window: %v, %v", p.Bans.Window, err)
	}
	if err := json.Unmarshal([]byte(`{"bans":{"window":"soon"}}`), &p); err == nil {
		t.Error("bad duration accepted")
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		json string
		want string // "" for valid
	}{
		{`{}`, ""},
		{`{"lan":["10.0.0.0/8","fd00::/8"],"allow_list":["203.0.113.7/32"]}`, ""},
		{`{"lan":["::ffff:10.0.0.0/104"]}`, "IPv4-mapped"},
		{`{"lan":[""]}`, "not a valid prefix"},
		{`{"limits":{"smtp_per_minute":-1}}`, "smtp_per_minute"},
		{`{"limits":{"log_per_minute":2000000}}`, "log_per_minute"},
		{`{"bans":{"max_failures":-2}}`, "max_failures"},
		{`{"bans":{"max_ban_time":"10000h"}}`, "max_ban_time"},
		{`{"bans":{"ban_time":"-1m"}}`, "ban_time"},
	} {
		var p Policy
		if err := json.Unmarshal([]byte(tc.json), &p); err != nil {
			t.Fatalf("%s: %v", tc.json, err)
		}
		err := p.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.json, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want an error about %s", tc.json, err, tc.want)
		}
	}
}

func TestReadWritePolicy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.json")
	p := goldenPolicies(t)["everything"]
	if err := WritePolicy(path, p); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPolicy(path)
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("ReadPolicy = %+v, %v; want %+v", got, err, p)
	}
	bad := Policy{Limits: Limits{SMTPBurst: -1}}
	if err := WritePolicy(path, bad); err == nil {
		t.Error("WritePolicy of an invalid policy: no error")
	}
	if got, err := ReadPolicy(path); err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("a refused write changed the file: %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestSplitPrefixes(t *testing.T) {
	in := []netip.Prefix{}
	for _, s := range []string{"192.168.7.9/24", "10.20.0.0/16", "fd00::/8", "10.0.0.0/8", "192.168.7.0/24", "2001:db8::1/128", "fd00:1::/64"} {
		in = append(in, netip.MustParsePrefix(s))
	}
	v4, v6 := splitPrefixes(in)
	if got, want := prefixStrings(v4), "10.0.0.0/8 192.168.7.0/24"; got != want {
		t.Errorf("v4 = %s, want %s", got, want)
	}
	if got, want := prefixStrings(v6), "2001:db8::1/128 fd00::/8"; got != want {
		t.Errorf("v6 = %s, want %s", got, want)
	}
}

func prefixStrings(ps []netip.Prefix) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, " ")
}

func TestAfterPrefix(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"10.0.0.0/8", "11.0.0.0"},
		{"192.0.2.7/32", "192.0.2.8"},
		{"10.255.255.0/24", "11.0.0.0"},
		{"0.0.0.0/0", ""},
		{"255.255.255.255/32", ""},
		{"fd00::/8", "fe00::"},
		{"2001:db8::ffff/128", "2001:db8::1:0"},
		{"::/0", ""},
	} {
		got, ok := afterPrefix(netip.MustParsePrefix(tc.in))
		if (tc.want == "") == ok || (ok && got.String() != tc.want) {
			t.Errorf("afterPrefix(%s) = %v, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

func TestNftDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		10 * time.Minute:                   "10m",
		90 * time.Minute:                   "1h30m",
		7 * 24 * time.Hour:                 "7d",
		time.Second + 500*time.Millisecond: "1s500ms",
	} {
		if got := nftDuration(d); got != want {
			t.Errorf("nftDuration(%v) = %s, want %s", d, got, want)
		}
	}
}
