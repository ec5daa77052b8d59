package firewall

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Render returns the table that p describes as `nft list table inet
// facteur` prints it right after Build applied it, with empty ban sets and
// counters at zero. It is what `facteur firewall show` prints, and what dev
// mode prints instead of touching the host firewall.
func Render(p Policy) string {
	return layout(p).text()
}

func (t tableDef) text() string {
	var blocks []string
	for _, c := range t.counters {
		blocks = append(blocks, fmt.Sprintf("\tcounter %s {\n\t\tpackets 0 bytes 0\n\t}\n", c))
	}
	for _, s := range t.sets {
		blocks = append(blocks, s.text())
	}
	for _, c := range t.chains {
		blocks = append(blocks, c.text())
	}
	return "table inet " + TableName + " {\n" + strings.Join(blocks, "\n") + "}\n"
}

func (s setDef) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\tset %s {\n", s.name)
	typ := "ipv4_addr"
	if s.v6 {
		typ = "ipv6_addr"
	}
	fmt.Fprintf(&b, "\t\ttype %s\n", typ)
	switch s.kind {
	case prefixSet:
		b.WriteString("\t\tflags interval\n")
	case banSet:
		b.WriteString("\t\tflags timeout\n")
	case meterSet:
		fmt.Fprintf(&b, "\t\tsize %d\n\t\tflags dynamic,timeout\n\t\ttimeout %s\n",
			meterSize, nftDuration(meterTimeout))
	}
	if len(s.elems) > 0 {
		fmt.Fprintf(&b, "\t\telements = %s\n", elementsText(s.elems, s.v6))
	}
	b.WriteString("\t}\n")
	return b.String()
}

// elementsText lists a named set's elements the way nft wraps them: two
// IPv4 prefixes a line, one IPv6 prefix a line.
func elementsText(ps []netip.Prefix, v6 bool) string {
	var b strings.Builder
	b.WriteString("{ ")
	for i, p := range ps {
		if i > 0 {
			if v6 || i%2 == 0 {
				b.WriteString(",\n\t\t\t     ")
			} else {
				b.WriteString(", ")
			}
		}
		b.WriteString(prefixString(p))
	}
	b.WriteString(" }")
	return b.String()
}

func (c chainDef) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\tchain %s {\n", c.name)
	if c.base {
		b.WriteString("\t\ttype filter hook input priority filter; policy drop;\n")
	}
	for _, r := range c.rules {
		fmt.Fprintf(&b, "\t\t%s\n", ruleText(r))
	}
	b.WriteString("\t}\n")
	return b.String()
}

func ruleText(r []stmt) string {
	parts := make([]string, len(r))
	for i, s := range r {
		parts[i] = s.text()
	}
	return strings.Join(parts, " ")
}

// nftDuration writes d the way nft does: 10m, 1h30m, 7d.
func nftDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.d
		}
	}
	return b.String()
}
