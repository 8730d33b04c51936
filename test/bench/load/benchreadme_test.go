package load

import (
	"net"
	"net/http"
	"strings"
	"testing"
)

// test/bench/README.md: the load generator's dialer refuses any address
// off loopback after name resolution, so a name that resolves elsewhere
// is not dialled either. The hook runs before the connection is made: the
// refused address is never reached.
func TestDialerRefusesAddressesOffLoopback(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dial := newClient(Options{Concurrency: 1}).Transport.(*http.Transport).DialContext
	for _, addr := range []string{"10.255.255.1:443", "192.0.2.1:8443", "[2001:db8::1]:443"} {
		if conn, err := dial(t.Context(), "tcp", addr); err == nil || !strings.Contains(err.Error(), "loopback only") {
			if conn != nil {
				conn.Close()
			}
			t.Errorf("dialling %s: %v, want a refusal: loopback only", addr, err)
		}
	}
	conn, err := dial(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dialling the loopback listener %s: %v", ln.Addr(), err)
	}
	conn.Close()
}
