package webhook

import (
	"container/list"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
)

// connGate keeps at most max connections of one listener open. A
// connection accepted at the cap displaces the connection that has waited
// longest without a request in progress (in its TLS handshake, sending its
// headers, or idle between requests); when every open connection is serving
// a request, the new one is closed instead. Either way the cost of a
// connection beyond the cap is one accept and one close: no goroutine, no
// TLS state, no buffer.
//
// Displacing waiting connections rather than refusing newcomers is what
// keeps a flood of slow clients from locking the API server out: a client
// that sends its request at once is never the longest waiting, and a
// request, once its headers are read, is never displaced. Leaving excess
// connections in the kernel's accept backlog instead (netutil.LimitListener)
// would queue the API server behind every slow client ahead of it.
type connGate struct {
	max int

	mu sync.Mutex
	// open holds every connection counted against max, by its TCP
	// connection; waiting, those without a request in progress, the
	// longest waiting first.
	open    map[net.Conn]*list.Element
	waiting list.List
}

func newConnGate(max int) *connGate {
	return &connGate{max: max, open: map[net.Conn]*list.Element{}}
}

// Listener returns ln whose Accept applies the gate. Use the gate's
// ConnState as the http.Server's, so that it knows which connections are
// serving requests.
func (g *connGate) Listener(ln net.Listener) net.Listener { return gatedListener{ln, g} }

type gatedListener struct {
	net.Listener
	gate *connGate
}

func (l gatedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.gate.admit(c) {
			return c, nil
		}
	}
}

// admit counts c as open, displacing the longest waiting connection at the
// cap, or closes c when every open connection is serving a request.
func (g *connGate) admit(c net.Conn) bool {
	g.mu.Lock()
	var displaced net.Conn
	if len(g.open) >= g.max {
		oldest := g.waiting.Front()
		if oldest == nil {
			g.mu.Unlock()
			reset(c)
			return false
		}
		displaced = g.waiting.Remove(oldest).(net.Conn)
		delete(g.open, displaced)
	}
	g.open[c] = g.waiting.PushBack(c)
	g.mu.Unlock()
	if displaced != nil {
		reset(displaced)
	}
	return true
}

// ConnState follows the http.Server's connections: one whose request
// headers have been read is serving and cannot be displaced; one that
// finished its request waits again, from now. A connection the gate
// displaced or never admitted is not counted again.
func (g *connGate) ConnState(c net.Conn, state http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.open[c]
	if !ok {
		return
	}
	switch state {
	case http.StateActive:
		if e != nil {
			g.waiting.Remove(e)
			g.open[c] = nil
		}
	case http.StateIdle:
		if e != nil {
			g.waiting.Remove(e)
		}
		g.open[c] = g.waiting.PushBack(c)
	case http.StateClosed, http.StateHijacked:
		if e != nil {
			g.waiting.Remove(e)
		}
		delete(g.open, c)
	}
}

// reset closes c with a TCP reset rather than a FIN, so that a client that
// never reads leaves no orphaned socket behind in the kernel either.
func reset(c net.Conn) {
	if tcp, ok := c.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = c.Close()
}
