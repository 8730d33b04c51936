package webhook

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/internal/slowclient"
	"github.com/strata-project/strata/webhook/policy"
)

// HTTP/2 multiplexes hundreds of streams, each a handler goroutine, over one
// connection that a per-connection bound cannot see (and carries the rapid
// reset class of attacks): the webhook port speaks HTTP/1.1 only, as
// controller-runtime advises.
func TestWebhookPortDoesNotNegotiateHTTP2(t *testing.T) {
	t.Parallel()
	srv, pool, _ := serveDemo(t, ServerOptions{})
	st, err := handshake(t, srv.addr, &tls.Config{RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if st.NegotiatedProtocol == "h2" {
		t.Errorf("handshake offering h2 negotiated %q, want http/1.1", st.NegotiatedProtocol)
	}
}

// A client that sends its headers and then one body byte at a time held its
// connection and handler for as long as it liked: the body is read within
// the request's own deadline (the API server's timeout, at most 30 s), and a
// client past it is cut off.
func TestSlowBodyClientIsCutOffAtTheRequestDeadline(t *testing.T) {
	t.Parallel()
	srv, pool, _ := serveDemo(t, ServerOptions{})
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", srv.addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /validate/audit?timeout=1s HTTP/1.1\r\nHost: strata\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
	// The server must end the exchange (an error answer or a closed
	// connection) by itself; 20 s is far past the 1 s it was given.
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("a client sending 1 body byte of 100,000 still held its connection after %s on a 1 s request", time.Since(start).Round(time.Second))
	}
}

// slowClientHello is the start of a TLS record announcing a 512-byte
// handshake message, and slowHeaders a request whose headers never end: sent
// a byte at a time, each holds a connection for as long as the server waits.
var (
	slowClientHello = slowclient.ClientHello()
	slowHeaders     = []byte("POST /validate/audit HTTP/1.1\r\nHost: strata\r\nX-Pad: " + strings.Repeat("a", 4096))
)

// stillOpen reports whether the server still holds c after wait: it has
// neither closed nor reset it.
func stillOpen(c net.Conn, wait time.Duration) bool { return readEnd(c, wait) == nil }

// readEnd reads c for wait and returns how the server ended it: nil when it
// still holds c, io.EOF when it closed c, an error that is
// syscall.ECONNRESET when it reset c.
func readEnd(c net.Conn, wait time.Duration) error {
	_ = c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	}
}

// countOpen is stillOpen over conns, at once; notReset counts those the
// server ended otherwise than by a reset (TCP RST).
func countOpen(conns []net.Conn, wait time.Duration) (held, notReset int) {
	var open, closed atomic.Int64
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			switch err := readEnd(c, wait); {
			case err == nil:
				open.Add(1)
			case !errors.Is(err, syscall.ECONNRESET):
				closed.Add(1)
			}
		})
	}
	wg.Wait()
	return int(open.Load()), int(closed.Load())
}

// dialRaw opens a TCP connection the test closes at its end.
func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Two floods of trickling connections, each 40 against a cap of 8; after
// either, the API server is still answered and at most MaxConns of the
// attackers are held.
//   - TricklingConnectionsCannotExceedTheCapNorStarveTheAPIServer: 2,000 TLS
//     connections trickling a byte every 20 s were all held at 75 s; the
//     webhook listener keeps at most MaxConns connections open, and a new one
//     displaces the oldest connection that has not yet sent a request.
//   - TricklingBodiesCannotLockOutTheAPIServer: a connection whose headers
//     are read but whose body trickles would hold a slot the gate never
//     displaces, for the whole request deadline, and a flood of them locked
//     the API server out; a connection serves a request only once its body
//     has arrived.
func TestTricklingFloodsCannotHoldTheWebhookPort(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// trickle opens one attacker's connection and starts trickling on
		// it; nil when the connection was refused (the cap holds).
		trickle func(t *testing.T, addr string, pool *x509.CertPool) net.Conn
	}{
		{"TricklingConnectionsCannotExceedTheCapNorStarveTheAPIServer", func(t *testing.T, addr string, _ *x509.CertPool) net.Conn {
			c := dialRaw(t, addr)
			go slowclient.Trickle(t.Context(), c, slowClientHello, 200*time.Millisecond)
			return c
		}},
		{"TricklingBodiesCannotLockOutTheAPIServer", func(t *testing.T, addr string, pool *x509.CertPool) net.Conn {
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool})
			if err != nil {
				return nil
			}
			t.Cleanup(func() { c.Close() })
			fmt.Fprintf(c, "POST /validate/audit?timeout=30s HTTP/1.1\r\nHost: strata\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
			go slowclient.Trickle(t.Context(), c, bytes.Repeat([]byte{' '}, 1000), 200*time.Millisecond)
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const maxConns, attackers = 8, 40
			srv, pool, _ := serveDemo(t, ServerOptions{Webhook: ConnLimits{MaxConns: maxConns}})
			var conns []net.Conn
			for range attackers {
				if c := tc.trickle(t, srv.addr, pool); c != nil {
					conns = append(conns, c)
				}
			}

			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			t.Cleanup(client.CloseIdleConnections)
			review := reviewOf(t, "after-the-flood", "Pod", "CREATE", podOf("admin", "strata-demo.local/shop/admin:1.0"), nil)
			resp, raw := post(t, client, "https://"+srv.addr+Paths[policy.Audit]+"?timeout=5s", "application/json", review)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("POST after %d attackers = %s %s, want 200", attackers, resp.Status, raw)
			}
			if got := decodeReview(t, raw); got.UID != "after-the-flood" {
				t.Errorf("answer after the flood has uid %q, want after-the-flood", got.UID)
			}
			if held, _ := countOpen(conns, time.Second); held > maxConns {
				t.Errorf("%d of %d attackers' connections still held, want at most MaxConns = %d", held, attackers, maxConns)
			}
		})
	}
}

// A client that completes no TLS handshake, or sends its headers a byte at
// a time, held its connection for 32 s (controller-runtime's
// ReadHeaderTimeout) per attempt: both must be done within HeaderTimeout.
func TestSlowHandshakeOrHeadersAreDroppedAtTheHeaderDeadline(t *testing.T) {
	t.Parallel()
	srv, pool, _ := serveDemo(t, ServerOptions{Webhook: ConnLimits{HeaderTimeout: time.Second}})
	for _, tc := range []struct {
		name      string
		handshake bool
		payload   []byte
	}{
		{"TLS handshake", false, slowClientHello},
		{"request headers", true, slowHeaders},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dialRaw(t, srv.addr)
			if tc.handshake {
				tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
				if err := tc.HandshakeContext(t.Context()); err != nil {
					t.Fatal(err)
				}
				c = tc
			}
			go slowclient.Trickle(t.Context(), c, tc.payload, 200*time.Millisecond)
			// 20 s is far past the 1 s it was given.
			if stillOpen(c, 20*time.Second) {
				t.Errorf("a client trickling its %s a byte every 200ms still held its connection after 20s with a 1s HeaderTimeout", tc.name)
			}
		})
	}
}

// blockingHandler holds every request until release is closed.
type blockingHandler struct{ started, release chan struct{} }

func (h blockingHandler) Handle(ctx context.Context, _ admission.Request) admission.Response {
	h.started <- struct{}{}
	select {
	case <-h.release:
	case <-ctx.Done():
	}
	return admission.Allowed("")
}

// With every slot serving a request, connections beyond the cap are reset
// (TCP RST, so that none lingers in the kernel) as they are accepted (no
// goroutine, no TLS state) rather than held, and the requests in flight are
// never displaced.
func TestConnectionsBeyondTheCapAreRefusedWhileRequestsAreInFlight(t *testing.T) {
	t.Parallel()
	const maxConns, extra = 4, 20
	h := blockingHandler{started: make(chan struct{}, maxConns), release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	srv, pool := serveAudit(t, h, ServerOptions{Webhook: ConnLimits{MaxConns: maxConns}, Registerer: reg})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(client.CloseIdleConnections)
	review := reviewOf(t, "in-flight", "Pod", "CREATE", podOf("admin", "strata-demo.local/shop/admin:1.0"), nil)
	answers := make(chan error, maxConns)
	for range maxConns {
		go func() {
			resp, err := client.Post("https://"+srv.addr+Paths[policy.Audit]+"?timeout=30s", "application/json", bytes.NewReader(review))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("HTTP %s", resp.Status)
				}
			}
			answers <- err
		}()
	}
	for range maxConns {
		select {
		case <-h.started:
		case err := <-answers:
			t.Fatalf("a request in flight ended before it was released: %v", err)
		}
	}

	var conns []net.Conn
	for range extra {
		// Refused as soon as accepted: the dial itself may see the reset.
		c, err := net.DialTimeout("tcp", srv.addr, 5*time.Second)
		if err != nil {
			continue
		}
		// Not trickling: a write would take the reset's error, and the
		// read below see only an end of file. An admitted connection would
		// wait 10 s for its handshake, past the 5 s below.
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
	}
	if held, notReset := countOpen(conns, 5*time.Second); held > 0 || notReset > 0 {
		t.Errorf("%d of %d connections beyond a full cap of %d requests in flight still held after 5s, %d closed without a reset; want every one reset (TCP RST)", held, extra, maxConns, notReset)
	}
	// What an operator sees: the refusals, counted.
	if got := gather(t, reg)[`strata_connections_dropped_total{listener="webhook",reason="refused"}`]; got < extra {
		t.Errorf("strata_connections_dropped_total{listener=webhook,reason=refused} = %v, want at least %d", got, extra)
	}
	close(h.release)
	for range maxConns {
		if err := <-answers; err != nil {
			t.Errorf("request in flight during the flood = %v, want 200", err)
		}
	}
}

// exchange sends one GET over c, keeping it alive, and reads the answer.
func exchange(t *testing.T, c net.Conn, path string) {
	t.Helper()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: strata\r\n\r\n", path)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s = %v", path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// Idle keep-alive connections held the health port without bound: at the
// cap the idlest is closed, and the kubelet's probe is answered.
func TestIdleKeepAliveConnectionsCannotCrowdOutHealthProbes(t *testing.T) {
	t.Parallel()
	const maxConns, idle = 4, 12
	srv, _ := serveAudit(t, blockingHandler{}, ServerOptions{Health: ConnLimits{MaxConns: maxConns}})
	var conns []net.Conn
	for range idle {
		c := dialRaw(t, srv.healthAddr)
		exchange(t, c, "/healthz")
		conns = append(conns, c)
	}
	probe := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := probe.Get("http://" + srv.healthAddr + "/healthz")
	if err != nil {
		t.Fatalf("probe after %d idle keep-alive connections = %v, want 200", idle, err)
	}
	resp.Body.Close()
	if held, _ := countOpen(conns, time.Second); held > maxConns {
		t.Errorf("%d of %d idle keep-alive connections still held, want at most MaxConns = %d", held, idle, maxConns)
	}
}

// The health port kept idle keep-alive connections forever.
func TestIdleKeepAliveConnectionOnTheHealthPortIsClosed(t *testing.T) {
	t.Parallel()
	srv, _ := serveAudit(t, blockingHandler{}, ServerOptions{Health: ConnLimits{IdleTimeout: time.Second}})
	c := dialRaw(t, srv.healthAddr)
	exchange(t, c, "/metrics")
	// 20 s is far past the 1 s it was given.
	if stillOpen(c, 20*time.Second) {
		t.Errorf("an idle keep-alive connection to the health port was still open after 20s with a 1s IdleTimeout")
	}
}

// The request deadline is set by the webhook paths' handler: a body sent to
// any other path was read by net/http after the 404 (up to 256 KiB, to keep
// the connection alive) with no deadline at all.
func TestSlowBodyToAnUnknownPathIsCutOff(t *testing.T) {
	t.Parallel()
	srv, pool := serveAudit(t, blockingHandler{}, ServerOptions{})
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", srv.addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /elsewhere HTTP/1.1\r\nHost: strata\r\nContent-Length: 100000\r\n\r\n{")
	go slowclient.Trickle(t.Context(), c, bytes.Repeat([]byte{' '}, 1000), 200*time.Millisecond)
	// 20 s is far past any deadline strata sets.
	if stillOpen(c, 20*time.Second) {
		t.Errorf("a client trickling a body to an unknown path still held its connection after 20s")
	}
}
