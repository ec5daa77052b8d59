package firewall

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// Ban is a banned address and the time its ban has left.
type Ban struct {
	IP        netip.Addr `json:"ip"`
	Remaining Duration   `json:"remaining"`
}

// banSetName is the ban set an address belongs in.
func banSetName(ip netip.Addr) string {
	if ip.Unmap().Is4() {
		return SetBanned4
	}
	return SetBanned6
}

func kernelBanSet(ip netip.Addr) *nftables.Set {
	s := &nftables.Set{Table: table(), Name: banSetName(ip), HasTimeout: true, KeyType: nftables.TypeIPAddr}
	if s.Name == SetBanned6 {
		s.KeyType = nftables.TypeIP6Addr
	}
	return s
}

// banElement is ip's element in its ban set, expiring after d. A ban with
// less than a millisecond left is no ban (a zero timeout would never
// expire).
func banElement(ip netip.Addr, d Duration) (nftables.SetElement, bool) {
	if !ip.IsValid() || time.Duration(d) < time.Millisecond {
		return nftables.SetElement{}, false
	}
	return nftables.SetElement{Key: ip.Unmap().AsSlice(), Timeout: time.Duration(d).Round(time.Millisecond)}, true
}

// BanIP puts ip in the kernel's ban set for d, replacing any ban it has,
// in one transaction: add (a no-op if it is there), delete, add with the
// new timeout. The kernel drops the element when d has passed.
func BanIP(c *nftables.Conn, ip netip.Addr, d time.Duration) error {
	el, ok := banElement(ip, Duration(d))
	if !ok {
		return fmt.Errorf("ban %s for %v: not an address and a duration of at least 1ms", ip, d)
	}
	s := kernelBanSet(ip)
	plain := []nftables.SetElement{{Key: el.Key}}
	err := errors.Join(
		c.SetAddElements(s, plain),
		c.SetDeleteElements(s, plain),
		c.SetAddElements(s, []nftables.SetElement{el}),
	)
	if err == nil {
		err = c.Flush()
	}
	if err != nil {
		return fmt.Errorf("ban %s: %w", ip, err)
	}
	return nil
}

// UnbanIP removes ip from the kernel's ban set. An address that is not
// banned is not an error.
func UnbanIP(c *nftables.Conn, ip netip.Addr) error {
	if !ip.IsValid() {
		return errors.New("unban: not an address")
	}
	err := c.SetDeleteElements(kernelBanSet(ip), []nftables.SetElement{{Key: ip.Unmap().AsSlice()}})
	if err == nil {
		err = c.Flush()
	}
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unban %s: %w", ip, err)
	}
	return nil
}

// ListBans returns the kernel's bans, IPv4 first, each sorted by address.
func ListBans(c *nftables.Conn) ([]Ban, error) {
	var bans []Ban
	for _, name := range []string{SetBanned4, SetBanned6} {
		els, err := c.GetSetElements(&nftables.Set{Table: table(), Name: name})
		if err != nil {
			return nil, fmt.Errorf("list bans: %w", err)
		}
		var part []Ban
		for _, el := range els {
			ip, ok := netip.AddrFromSlice(el.Key)
			if !ok {
				continue
			}
			part = append(part, Ban{IP: ip, Remaining: Duration(el.Expires)})
		}
		slices.SortFunc(part, func(a, b Ban) int { return a.IP.Compare(b.IP) })
		bans = append(bans, part...)
	}
	return bans, nil
}

// Counter is a named counter's value.
type Counter struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// ReadCounters returns the table's named counters (see CounterNames).
func ReadCounters(c *nftables.Conn) (map[string]Counter, error) {
	objs, err := c.GetObjects(table())
	if err != nil {
		return nil, fmt.Errorf("read counters: %w", err)
	}
	m := map[string]Counter{}
	for _, o := range objs {
		if co, ok := o.(*nftables.CounterObj); ok {
			m[co.Name] = Counter{Packets: co.Packets, Bytes: co.Bytes}
		}
	}
	return m, nil
}
