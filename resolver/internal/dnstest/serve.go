// Package dnstest starts DNS servers on loopback for the resolver's tests:
// UDP and TCP on one port, static zone servers with delegations, and a whole
// test hierarchy (root, TLDs, authoritative servers) on distinct 127.0.0.x
// addresses sharing one port.
package dnstest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// ListenPair opens UDP and TCP sockets on one free port of ip.
func ListenPair(ip string) (net.PacketConn, net.Listener, error) {
	var last error
	for range 50 {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, nil, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err == nil {
			return pc, l, nil
		}
		l.Close()
		last = err
	}
	return nil, nil, fmt.Errorf("no free port on %s: %w", ip, last)
}

// ListenPairsOnPort opens UDP and TCP on one port shared by every ip: the
// test hierarchy's servers all listen on the port the resolver uses.
func ListenPairsOnPort(ips []string) (int, []net.PacketConn, []net.Listener, error) {
	var last error
	for range 50 {
		port := 20000 + rand.IntN(40000)
		pcs, ls, err := listenAll(ips, port)
		if err == nil {
			return port, pcs, ls, nil
		}
		last = err
	}
	return 0, nil, nil, fmt.Errorf("no port free on every address: %w", last)
}

func listenAll(ips []string, port int) ([]net.PacketConn, []net.Listener, error) {
	var pcs []net.PacketConn
	var ls []net.Listener
	closeAll := func() {
		for _, pc := range pcs {
			pc.Close()
		}
		for _, l := range ls {
			l.Close()
		}
	}
	for _, ip := range ips {
		addr := net.JoinHostPort(ip, strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		ls = append(ls, l)
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		pcs = append(pcs, pc)
	}
	return pcs, ls, nil
}

// Running is a handler served over UDP and TCP.
type Running struct {
	Addr string // ip:port
	udp  *dns.Server
	tcp  *dns.Server
	wg   sync.WaitGroup
}

// Serve serves h on pc and l until Stop. tsig may be nil.
func Serve(h dns.Handler, pc net.PacketConn, l net.Listener, tsig dns.TsigProvider) (*Running, error) {
	r := &Running{Addr: l.Addr().String()}
	r.udp = &dns.Server{PacketConn: pc, Handler: h, TsigProvider: tsig}
	r.tcp = &dns.Server{Listener: l, Handler: h, TsigProvider: tsig}
	started := make(chan struct{}, 2)
	errs := make(chan error, 2)
	for _, srv := range []*dns.Server{r.udp, r.tcp} {
		srv.NotifyStartedFunc = func() { started <- struct{}{} }
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			errs <- srv.ActivateAndServe()
		}()
	}
	for range 2 {
		select {
		case <-started:
		case err := <-errs:
			r.Stop()
			return nil, err
		case <-time.After(10 * time.Second):
			r.Stop()
			return nil, errors.New("dns server did not start")
		}
	}
	return r, nil
}

// Stop shuts both servers down and waits for them.
func (r *Running) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.udp.ShutdownContext(ctx)
	r.tcp.ShutdownContext(ctx)
	r.wg.Wait()
}
