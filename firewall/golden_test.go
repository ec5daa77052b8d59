package firewall

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.nft from Render")

// goldenPolicies returns the test policies: testdata/NAME.json, whose
// rulesets are testdata/NAME.nft.
func goldenPolicies(t *testing.T) map[string]Policy {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.json: %v", err)
	}
	ps := map[string]Policy{}
	for _, f := range files {
		p, err := ReadPolicy(f)
		if err != nil {
			t.Fatal(err)
		}
		ps[strings.TrimSuffix(filepath.Base(f), ".json")] = p
	}
	return ps
}

func TestRenderGolden(t *testing.T) {
	for name, p := range goldenPolicies(t) {
		t.Run(name, func(t *testing.T) {
			golden := filepath.Join("testdata", name+".nft")
			got := Render(p)
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Render(%s) differs from %s (go test -update rewrites it):\n%s",
					name, golden, lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff shows the first lines where got and want differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n\twant: %s\n\tgot:  %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}
