package mailauth

import "strings"

// formatAuthResults writes the Authentication-Results field (RFC 8601) for
// one message: one resinfo per method, each DKIM signature on its own,
// folded between resinfos to stay under maxColumns where it can.
func formatAuthResults(hostname string, spf spfOutcome, dkims []DKIMResult, arc string, d dmarcOutcome) string {
	var res []string

	s := "spf=" + spf.Result
	if spf.Domain != "" {
		ptype := "smtp.mailfrom="
		if spf.Helo {
			ptype = "smtp.helo="
		}
		s += " " + ptype + pvalue(spf.Domain)
	}
	res = append(res, s)

	if len(dkims) == 0 {
		res = append(res, "dkim=none")
	}
	for _, k := range dkims {
		res = append(res, "dkim="+k.Result+" header.d="+pvalue(k.Domain)+" header.s="+pvalue(k.Selector))
	}

	s = "dmarc=" + d.Result
	if d.Domain != "" {
		s += " header.from=" + pvalue(d.Domain)
	}
	if d.Policy != "" {
		s += " (p=" + d.Policy + " dis=" + disposition(d.Action) + ")"
	}
	res = append(res, s)

	if arc != "" {
		res = append(res, "arc="+arc)
	}

	var b strings.Builder
	b.WriteString("Authentication-Results: " + hostname + ";")
	col := b.Len()
	for i, r := range res {
		if i < len(res)-1 {
			r += ";"
		}
		if col+1+len(r) >= maxColumns {
			b.WriteString("\r\n\t" + r)
			col = 8 + len(r) // a tab shows as up to 8 columns
			continue
		}
		b.WriteString(" " + r)
		col += 1 + len(r)
	}
	b.WriteString("\r\n")
	return b.String()
}

// pvalue formats a property value: bare if it is a plain name, else a
// quoted-string without control characters (RFC 8601 section 2.2), so
// nothing from a message can end the field or add a property.
func pvalue(s string) string {
	plain := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-_@+", c)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c < ' ' || c == 0x7f:
			continue
		case c == '"' || c == '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	b.WriteByte('"')
	return b.String()
}

// disposition names an action as DMARC reports do (RFC 7489 appendix C).
func disposition(a Action) string {
	if a == Accept {
		return "none"
	}
	return a.String()
}
