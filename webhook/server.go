package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/webhook/policy"
)

// ServerOptions configure Serve.
type ServerOptions struct {
	// Addr is the TLS webhook listener, host:port.
	Addr string
	// HealthAddr serves /healthz, /readyz and /metrics over plain HTTP.
	HealthAddr string
	// CertDir holds tls.crt and tls.key; they are reloaded when they change.
	CertDir string
	// ClientCA, when set, is a PEM file of the CAs that sign the API server's
	// webhook client certificate: the webhook listener then completes a
	// handshake only with a client certificate they signed, so nothing but
	// the API server can make strata read pull secrets and contact
	// registries. It is read once, at start.
	ClientCA string
	// ClientCN, when set, is the only common name of client certificate
	// accepted (the API server's, e.g. kube-apiserver). Needs ClientCA.
	ClientCN string
	// Handlers serve the mode paths (Paths), each through Endpoint:
	// strata's *Handler, or another admission.Handler (the benchmarks'
	// no-op floor).
	Handlers map[policy.Action]admission.Handler
	// Pinner, when set, serves PinPath: the mutating webhook that pins
	// images to the digests strata resolved.
	Pinner admission.Handler
	// PinnedHandlers serve PinnedPaths: the modes' handlers for the
	// namespaces where the Pinner is called, which require its pins.
	PinnedHandlers map[policy.Action]admission.Handler
	// Checks must all pass for /readyz; each names what it checks and may
	// add a detail (such as a failed policy reload that left the previous
	// policies serving).
	Checks map[string]func() (detail string, err error)
	// Gatherer is what /metrics exposes.
	Gatherer prometheus.Gatherer
	// HealthRoutes are more read-only pages the health listener serves, by
	// path (strata serve --graph: /graph and /graph.json).
	HealthRoutes map[string]http.Handler
	// Registerer, when set, receives the listeners' connection metrics
	// (strata_connections_open, strata_connections_dropped_total).
	Registerer prometheus.Registerer
	// Margin is kept from the API server's timeout to write the answer.
	// Default: DefaultMargin.
	Margin time.Duration
	// Webhook bounds the connections of the webhook listener; zero fields
	// take DefaultWebhookLimits' values.
	Webhook ConnLimits
	// Health bounds the connections of the health listener; zero fields
	// take DefaultHealthLimits' values.
	Health ConnLimits
	Logger *slog.Logger
}

// ConnLimits bound what the clients of one listener can hold.
type ConnLimits struct {
	// MaxConns is how many connections the listener keeps open at once.
	MaxConns int
	// HeaderTimeout is how long a connection has to complete its TLS
	// handshake and then to send a request's headers.
	HeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that sends no new request.
	IdleTimeout time.Duration
}

// DefaultWebhookLimits are the webhook listener's limits where
// ServerOptions.Webhook leaves a field zero.
//
//   - MaxConns: 1,000 connections, whether the API server's (which opens
//     one per admission request in flight and keeps them alive) or anyone
//     else's; 1,000 held TLS connections measured 77–84 MiB of resident
//     memory (docs/serving.md), inside the chart's 256 Mi limit.
//   - HeaderTimeout: 10 s for the TLS handshake, then 10 s for a request's
//     headers: the API server's own client gives a handshake 10 s, and sends
//     its headers at once.
//   - IdleTimeout: 2 minutes, longer than the 90 s after which the API
//     server's client closes an idle connection itself, so that the API
//     server never sends a request on a connection strata is closing; idle
//     connections are the first displaced at the cap in any case.
func DefaultWebhookLimits() ConnLimits {
	return ConnLimits{MaxConns: 1000, HeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
}

// DefaultMargin is what Serve keeps from each request's deadline to write
// its answer when ServerOptions.Margin is zero: the API server gives up at
// its timeout, so an answer written after it is lost.
const DefaultMargin = 250 * time.Millisecond

// DefaultHealthLimits are the health listener's limits where
// ServerOptions.Health leaves a field zero: probes and scrapes, a handful at
// a time, send their request at once and come back every few seconds.
func DefaultHealthLimits() ConnLimits {
	return ConnLimits{MaxConns: 64, HeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
}

// or fills l's zero fields from d.
func (l ConnLimits) or(d ConnLimits) ConnLimits {
	if l.MaxConns <= 0 {
		l.MaxConns = d.MaxConns
	}
	if l.HeaderTimeout <= 0 {
		l.HeaderTimeout = d.HeaderTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	return l
}

// Serve runs the webhook and health servers until ctx ends, then shuts both
// down gracefully, letting requests in flight finish within their deadline.
// The webhook paths are Endpoint's, registered through controller-runtime's
// webhook server for its request metrics. strata serves them itself, over
// its own listener, to bound connections (Webhook); controller-runtime's
// certificate watcher reloads the certificate when the files change.
func Serve(ctx context.Context, opts ServerOptions) error {
	if opts.Margin <= 0 {
		opts.Margin = DefaultMargin
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	webhookLimits := opts.Webhook.or(DefaultWebhookLimits())
	healthLimits := opts.Health.or(DefaultHealthLimits())
	if err := checkAddr("--addr", opts.Addr); err != nil {
		return err
	}
	clientAuth, err := clientAuthTLS(opts.ClientCA, opts.ClientCN)
	if err != nil {
		return err
	}
	connMetrics, err := newConnMetrics(opts.Registerer)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	hooks := ctrlwebhook.NewServer(ctrlwebhook.Options{WebhookMux: mux})
	register := func(paths map[policy.Action]string, handlers map[policy.Action]admission.Handler) error {
		for mode, h := range handlers {
			path, ok := paths[mode]
			if !ok {
				return fmt.Errorf("mode %q has no webhook path", mode)
			}
			hooks.Register(path, connMetrics.measureAnswers(path, Endpoint(h, opts.Margin, opts.Logger)))
		}
		return nil
	}
	if err := register(Paths, opts.Handlers); err != nil {
		return err
	}
	if err := register(PinnedPaths, opts.PinnedHandlers); err != nil {
		return err
	}
	if opts.Pinner != nil {
		hooks.Register(PinPath, connMetrics.measureAnswers(PinPath, Endpoint(opts.Pinner, opts.Margin, opts.Logger)))
	}
	mux.HandleFunc("/", notFound)

	webhookLn, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	healthLn, err := net.Listen("tcp", opts.HealthAddr)
	if err != nil {
		webhookLn.Close()
		return fmt.Errorf("--health-addr: %w", err)
	}
	certs, err := certwatcher.New(filepath.Join(opts.CertDir, "tls.crt"), filepath.Join(opts.CertDir, "tls.key"))
	if err != nil {
		webhookLn.Close()
		healthLn.Close()
		return fmt.Errorf("--cert-dir: %w", err)
	}
	tlsConfig := &tls.Config{GetCertificate: certs.GetCertificate}
	restrictTLS(tlsConfig)
	clientAuth(tlsConfig)
	connMetrics.countHandshakes(tlsConfig)
	errorLog := slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug)
	webhookGate := newConnGate(webhookLimits.MaxConns, "webhook", connMetrics)
	webhookSrv := &http.Server{
		Handler:     webhookGate.Handler(mux),
		ConnContext: webhookGate.ConnContext,
		// Also the TLS handshake's deadline: net/http gives a handshake
		// the shortest of the read and write timeouts.
		ReadHeaderTimeout: webhookLimits.HeaderTimeout,
		// Endpoint sets each admission request's own read deadline;
		// this is the bound of any other request's body.
		ReadTimeout: maxWebhookTimeout,
		// An answer that a client does not read would otherwise hold a
		// connection serving a request, which the gate never displaces.
		WriteTimeout:   webhookWriteTimeout,
		IdleTimeout:    webhookLimits.IdleTimeout,
		MaxHeaderBytes: 64 << 10,
		ConnState:      webhookGate.ConnState,
		Protocols:      http1Only(),
		ErrorLog:       errorLog,
		// Requests in flight at shutdown finish within their own deadline
		// rather than being cancelled with ctx.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	healthGate := newConnGate(healthLimits.MaxConns, "health", connMetrics)
	hmux := healthMux(checks(opts.Checks), opts.Gatherer)
	for path, h := range opts.HealthRoutes {
		hmux.Handle(path, h)
	}
	health := &http.Server{
		Handler:           healthGate.Handler(hmux),
		ConnContext:       healthGate.ConnContext,
		ReadHeaderTimeout: healthLimits.HeaderTimeout,
		// Probes and scrapes send no body and read their answer at once.
		ReadTimeout:    healthRequestTimeout,
		WriteTimeout:   healthRequestTimeout,
		IdleTimeout:    healthLimits.IdleTimeout,
		MaxHeaderBytes: 64 << 10,
		ConnState:      healthGate.ConnState,
		Protocols:      http1Only(),
		ErrorLog:       errorLog,
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		// As controller-runtime does: without the watch, the certificate
		// read at start keeps serving.
		if err := certs.Start(gctx); err != nil {
			opts.Logger.Error("watching the serving certificate: it will not be reloaded", "err", err)
		}
		return nil
	})
	serve := func(srv *http.Server, ln net.Listener) func() error {
		return func() error {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}
	}
	g.Go(serve(webhookSrv, tls.NewListener(webhookGate.Listener(webhookLn), tlsConfig)))
	g.Go(serve(health, healthGate.Listener(healthLn)))
	g.Go(func() error {
		<-gctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(gctx), maxWebhookTimeout)
		defer cancel()
		return errors.Join(webhookSrv.Shutdown(shutdown), health.Shutdown(shutdown))
	})
	return g.Wait()
}

// checkAddr refuses an address without a numeric port, which net.Listen
// would take as a service name.
func checkAddr(flag, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.Atoi(port)
	}
	if err != nil {
		return fmt.Errorf("%s %q: %w", flag, addr, err)
	}
	return nil
}

// checks adds to the caller's readiness checks that the webhook listener is
// serving: Serve has bound it before the health listener answers at all.
func checks(given map[string]func() (string, error)) map[string]func() (string, error) {
	all := map[string]func() (string, error){"webhook": func() (string, error) { return "", nil }}
	maps.Copy(all, given)
	return all
}

// http1Only turns HTTP/2 off: on the webhook port its streams multiply
// handlers past any per-connection bound, and it carries the rapid reset
// class of attacks (CVE-2023-44487); the API server speaks HTTP/1.1 to
// webhooks as readily. The health port never needed it.
func http1Only() *http.Protocols {
	var p http.Protocols
	p.SetHTTP1(true)
	return &p
}

// notFound answers a path strata does not serve and closes the connection
// without reading the request's body: net/http would otherwise read up to
// 256 KiB of it after the answer, to keep the connection alive, however
// slowly it came.
func notFound(w http.ResponseWriter, r *http.Request) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	w.Header().Set("Connection", "close")
	http.NotFound(w, r)
}

// tls12CipherSuites are the only suites the webhook listener accepts with
// TLS 1.2: ECDHE key exchange with an AEAD cipher, the set Kubernetes
// components default to. Go's own default still offers CBC suites with
// SHA-1 MACs (ECDHE-ECDSA-AES128-SHA and the like). TLS 1.3 suites are not
// configurable in Go, are all AEAD, and are chosen whenever the client
// offers TLS 1.3.
var tls12CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// restrictTLS sets the webhook listener's floor: TLS 1.2 with AEAD suites,
// and HTTP/1.1 only (http1Only).
func restrictTLS(c *tls.Config) {
	c.MinVersion = tls.VersionTLS12
	c.CipherSuites = tls12CipherSuites
	c.NextProtos = []string{"http/1.1"}
}

// clientAuthTLS returns the TLS settings that verify the API server's client
// certificate, or ones that change nothing when caFile is empty. Unlike
// controller-runtime's ClientCAName, the CA file may live outside the
// serving certificate's directory (a Secret of its own), and the common name
// is checked as Gatekeeper's --client-cn-name does.
func clientAuthTLS(caFile, cn string) (func(*tls.Config), error) {
	if caFile == "" {
		if cn != "" {
			return nil, errors.New("--client-cn needs --client-ca: a name is only worth checking on a certificate a trusted CA signed")
		}
		return func(*tls.Config) {}, nil
	}
	raw, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--client-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(raw) {
		return nil, fmt.Errorf("--client-ca %s holds no PEM certificate", caFile)
	}
	return func(c *tls.Config) {
		c.ClientCAs = pool
		c.ClientAuth = tls.RequireAndVerifyClientCert
		if cn == "" {
			return
		}
		// Runs after the chain is verified, so the name is one the CA vouched for.
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || cs.PeerCertificates[0].Subject.CommonName != cn {
				return fmt.Errorf("client certificate is not %q's: strata answers only the API server (--client-cn)", cn)
			}
			return nil
		}
	}, nil
}

// healthMux serves liveness, readiness (every check, named in the body) and
// metrics.
func healthMux(checks map[string]func() (string, error), gatherer prometheus.Gatherer) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		var b strings.Builder
		ready := true
		for _, name := range slices.Sorted(maps.Keys(checks)) {
			detail, err := checks[name]()
			switch {
			case err != nil:
				ready = false
				fmt.Fprintf(&b, "[-] %s: %v\n", name, err)
			case detail != "":
				fmt.Fprintf(&b, "[+] %s ok (%s)\n", name, detail)
			default:
				fmt.Fprintf(&b, "[+] %s ok\n", name)
			}
		}
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write([]byte(b.String()))
	})
	if gatherer != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	}
	return mux
}
