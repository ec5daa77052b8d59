package recursive

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Transport sends one query to one server and returns its reply. The
// resolver sets a fresh random ID on every query and checks the reply's ID
// and question again, so a Transport may be a simple fake in tests.
type Transport interface {
	Exchange(ctx context.Context, m *dns.Msg, server netip.AddrPort, tcp bool) (*dns.Msg, error)
}

// NetTransport is the real Transport. Each UDP query uses a new socket, so
// its source port is chosen at random by the kernel (RFC 5452 section 9.2);
// replies from another address, with another ID or for another question are
// ignored.
type NetTransport struct {
	// Timeout bounds one exchange; 2 s when zero. The context may end it
	// sooner.
	Timeout time.Duration
}

var errMismatch = errors.New("reply does not match the query")

// Exchange implements Transport.
func (t NetTransport) Exchange(ctx context.Context, m *dns.Msg, server netip.AddrPort, tcp bool) (*dns.Msg, error) {
	timeout := t.Timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := m.Pack()
	if err != nil {
		return nil, err
	}
	network := "udp"
	if tcp {
		network = "tcp"
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, server.String())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if tcp {
		return exchangeTCP(conn, m, out)
	}
	return exchangeUDP(conn, m, out)
}

func exchangeUDP(conn net.Conn, q *dns.Msg, out []byte) (*dns.Msg, error) {
	if _, err := conn.Write(out); err != nil {
		return nil, err
	}
	buf := make([]byte, dns.MaxMsgSize)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		resp := new(dns.Msg)
		if resp.Unpack(buf[:n]) != nil || !matches(q, resp) {
			continue // garbage or a spoofing attempt: keep waiting
		}
		return resp, nil
	}
}

func exchangeTCP(conn net.Conn, q *dns.Msg, out []byte) (*dns.Msg, error) {
	framed := make([]byte, 2+len(out))
	binary.BigEndian.PutUint16(framed, uint16(len(out)))
	copy(framed[2:], out)
	if _, err := conn.Write(framed); err != nil {
		return nil, err
	}
	var length [2]byte
	if _, err := io.ReadFull(conn, length[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(length[:]))
	if _, err := io.ReadFull(conn, buf); err != nil {
		return nil, err
	}
	resp := new(dns.Msg)
	if err := resp.Unpack(buf); err != nil {
		return nil, err
	}
	if !matches(q, resp) {
		return nil, errMismatch
	}
	return resp, nil
}

// matches reports whether resp answers q: a response with q's ID and
// question (names compared case-insensitively).
func matches(q, resp *dns.Msg) bool {
	if resp == nil || !resp.Response || resp.Id != q.Id || len(resp.Question) != 1 || len(q.Question) != 1 {
		return false
	}
	a, b := q.Question[0], resp.Question[0]
	return a.Qtype == b.Qtype && a.Qclass == b.Qclass && strings.EqualFold(a.Name, b.Name)
}
