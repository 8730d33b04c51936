package webhook

import (
	"container/list"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// connGate keeps at most max connections of one listener open. A
// connection accepted at the cap displaces the connection that has waited
// longest without a request to serve (in its TLS handshake, sending its
// headers or its body, or idle between requests); when every open
// connection is serving a request, the new one is closed instead. Either
// way the cost of a connection beyond the cap is one accept and one close:
// no goroutine, no TLS state, no buffer.
//
// Displacing waiting connections rather than refusing newcomers is what
// keeps a flood of slow clients from locking the API server out: a client
// that sends its request at once is never the longest waiting, and a
// request, once its body has arrived, is never displaced. Leaving excess
// connections in the kernel's accept backlog instead (netutil.LimitListener)
// would queue the API server behind every slow client ahead of it.
type connGate struct {
	max      int
	listener string
	metrics  *connMetrics

	mu sync.Mutex
	// open holds every connection counted against max, by its TCP
	// connection; waiting, those without a request in progress, the
	// longest waiting first.
	open    map[net.Conn]*list.Element
	waiting list.List
}

func newConnGate(max int, listener string, m *connMetrics) *connGate {
	return &connGate{max: max, listener: listener, metrics: m, open: map[net.Conn]*list.Element{}}
}

// connMetrics count, by listener, the connections open and those the gates
// dropped: displaced or refused, what an operator sees when a cap is
// reached. The connections accepted, the TLS handshakes and the size of the
// answers are what each admission costs the API server beyond strata's own
// work: a client that keeps its connections alive opens about as many as it
// has requests in flight, and hands shakes once for each.
type connMetrics struct {
	open       *prometheus.GaugeVec
	dropped    *prometheus.CounterVec
	accepted   *prometheus.CounterVec
	handshakes *prometheus.CounterVec
	answers    *prometheus.HistogramVec
}

// newConnMetrics creates the gates' metrics, registered with reg when it is
// not nil.
func newConnMetrics(reg prometheus.Registerer) (*connMetrics, error) {
	m := &connMetrics{
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "strata_connections_open",
			Help: "Connections open, by listener (webhook, health).",
		}, []string{"listener"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_connections_dropped_total",
			Help: "Connections closed at a listener's cap, by listener and reason: displaced (waiting without a request to serve) or refused (every connection serving).",
		}, []string{"listener", "reason"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_connections_accepted_total",
			Help: "Connections accepted, by listener, including those then dropped at the cap.",
		}, []string{"listener"}),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_tls_handshakes_total",
			Help: "TLS handshakes completed on the webhook listener, by whether the client resumed a session (resumed: true) or did a full handshake, and the application protocol negotiated (none: the client offered none).",
		}, []string{"resumed", "protocol"}),
		answers: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "strata_webhook_response_size_bytes",
			Help:    "Size of the webhook paths' response bodies, by path.",
			Buckets: []float64{128, 256, 512, 1024, 4096, 16384, 65536},
		}, []string{"path"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.open, m.dropped, m.accepted, m.handshakes, m.answers} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Listener returns ln whose Accept applies the gate. The http.Server
// serving it must use the gate's ConnState and ConnContext, and its handler
// must be wrapped in the gate's Handler, so that the gate knows which
// connections are serving requests.
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
	g.metrics.accepted.WithLabelValues(g.listener).Inc()
	g.mu.Lock()
	var displaced net.Conn
	if len(g.open) >= g.max {
		oldest := g.waiting.Front()
		if oldest == nil {
			g.mu.Unlock()
			g.metrics.dropped.WithLabelValues(g.listener, "refused").Inc()
			reset(c)
			return false
		}
		displaced = g.waiting.Remove(oldest).(net.Conn)
		delete(g.open, displaced)
	}
	g.open[c] = g.waiting.PushBack(c)
	g.metrics.open.WithLabelValues(g.listener).Set(float64(len(g.open)))
	g.mu.Unlock()
	if displaced != nil {
		g.metrics.dropped.WithLabelValues(g.listener, "displaced").Inc()
		reset(displaced)
	}
	return true
}

// ConnState follows the http.Server's connections: one whose request
// headers have just been read, or that finished a request, waits from now;
// a closed one is no longer counted. (Handler says when a request is being
// served.) A connection the gate displaced or never admitted is not counted
// again.
func (g *connGate) ConnState(c net.Conn, state http.ConnState) {
	switch state {
	case http.StateActive, http.StateIdle:
		g.update(c, true)
	case http.StateClosed, http.StateHijacked:
		g.mu.Lock()
		defer g.mu.Unlock()
		c = tcpConn(c)
		if e := g.open[c]; e != nil {
			g.waiting.Remove(e)
		}
		delete(g.open, c)
		g.metrics.open.WithLabelValues(g.listener).Set(float64(len(g.open)))
	}
}

// update moves an open connection to the back of the waiting list, or
// takes it out of it once it is serving a request.
func (g *connGate) update(c net.Conn, waiting bool) {
	c = tcpConn(c)
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.open[c]
	if !ok {
		return
	}
	if e != nil {
		g.waiting.Remove(e)
	}
	g.open[c] = nil
	if waiting {
		g.open[c] = g.waiting.PushBack(c)
	}
}

// connKey is the request context key of the connection a request came on.
type connKey struct{}

// ConnContext records the connection in its requests' context, for Handler.
func (g *connGate) ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// Handler marks a request's connection as serving once the request's body
// has arrived: a request without a body at once, otherwise when next has
// read its body to the end. A client trickling its body is still waiting,
// and can be displaced, however long the request's deadline.
func (g *connGate) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := r.Context().Value(connKey{}).(net.Conn)
		switch {
		case !ok:
		case r.Body == nil || r.Body == http.NoBody:
			g.update(c, false)
		default:
			// On a copy: net/http decides how to finish the request by the
			// type of its own Body.
			r = r.WithContext(r.Context())
			r.Body = &arrival{ReadCloser: r.Body, arrived: func() { g.update(c, false) }}
		}
		next.ServeHTTP(w, r)
	})
}

// arrival calls arrived once its body has been read to the end.
type arrival struct {
	io.ReadCloser
	arrived func()
	once    sync.Once
}

func (a *arrival) Read(p []byte) (int, error) {
	n, err := a.ReadCloser.Read(p)
	if err == io.EOF {
		a.once.Do(a.arrived)
	}
	return n, err
}

// countHandshakes counts c's TLS handshakes, full or resumed, after
// whatever check c already makes of a connection.
func (m *connMetrics) countHandshakes(c *tls.Config) {
	verify := c.VerifyConnection
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		if verify != nil {
			if err := verify(cs); err != nil {
				return err
			}
		}
		protocol := cs.NegotiatedProtocol
		if protocol == "" {
			protocol = "none"
		}
		m.handshakes.WithLabelValues(strconv.FormatBool(cs.DidResume), protocol).Inc()
		return nil
	}
}

// measureAnswers records the size of next's response bodies under path.
func (m *connMetrics) measureAnswers(path string, next http.Handler) http.Handler {
	return promhttp.InstrumentHandlerResponseSize(m.answers.MustCurryWith(prometheus.Labels{"path": path}), next)
}

// tcpConn is the connection the gate counts: the TCP connection under TLS.
func tcpConn(c net.Conn) net.Conn {
	if tc, ok := c.(*tls.Conn); ok {
		return tc.NetConn()
	}
	return c
}

// reset closes c with a TCP reset rather than a FIN, so that a client that
// never reads leaves no orphaned socket behind in the kernel either.
func reset(c net.Conn) {
	if tcp, ok := c.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = c.Close()
}
