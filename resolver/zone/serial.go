package zone

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/miekg/dns"
)

// NextSerial returns the serial that follows prev on day now: YYYYMMDD00 of
// that day (UTC) if it is larger, else prev+1. Ten changes a day stay within
// the day's range; beyond a hundred the serial runs into the next day's
// numbers, which is harmless: it only has to grow (RFC 1982).
func NextSerial(prev uint32, now time.Time) uint32 {
	day, _ := strconv.ParseUint(now.UTC().Format("20060102"), 10, 32)
	base := uint32(day * 100)
	if base > prev {
		return base
	}
	return prev + 1
}

// AssignSerials sets each domain's Serial: a domain whose content is the same
// as in prev keeps prev's serial, any other (new, or changed in any field,
// a DKIM key or a TLSA digest included) gets NextSerial of prev's serial.
// The core calls it before WriteFile; prev may be nil.
func (s *Snapshot) AssignSerials(prev *Snapshot, now time.Time) {
	for i := range s.Domains {
		d := &s.Domains[i]
		old := prev.Domain(d.Name)
		switch {
		case old == nil:
			d.Serial = NextSerial(d.Serial, now)
		case sameContent(d, old):
			d.Serial = old.Serial
		default:
			d.Serial = NextSerial(max(old.Serial, d.Serial), now)
		}
	}
}

func sameContent(a, b *Domain) bool {
	ca, cb := *a, *b
	ca.Serial, cb.Serial = 0, 0
	ca.Name, cb.Name = dns.CanonicalName(ca.Name), dns.CanonicalName(cb.Name)
	ja, erra := json.Marshal(ca)
	jb, errb := json.Marshal(cb)
	return erra == nil && errb == nil && string(ja) == string(jb)
}
