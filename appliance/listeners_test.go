package appliance

import (
	"io"
	"net"
	"testing"
)

// A connection accepted by a round that has just ended goes to the next
// round instead of being dropped.
func TestKeptListenerHandsOff(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll([]net.Listener{l})
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	first := keep(l).(*keptListener)
	first.closed.Store(true) // the round ends while Accept is under way
	if _, err := first.Accept(); err == nil {
		t.Fatal("Accept of an ended round returned a connection")
	}
	second := keep(l)
	c, err := second.Accept()
	if err != nil {
		t.Fatalf("next round: %v", err)
	}
	defer c.Close()
	if _, err := client.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("handed-off connection read %q, %v", buf, err)
	}
}
