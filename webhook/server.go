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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
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
	// Handlers serve the mode paths (Paths): strata's *Handler, or another
	// admission.Handler (the benchmarks' no-op floor).
	Handlers map[policy.Action]admission.Handler
	// Pinner, when set, serves PinPath: the mutating webhook that pins
	// images to the digests strata resolved.
	Pinner admission.Handler
	// Checks must all pass for /readyz; each names what it checks and may
	// add a detail (such as a failed policy reload that left the previous
	// policies serving).
	Checks map[string]func() (detail string, err error)
	// Gatherer is what /metrics exposes.
	Gatherer prometheus.Gatherer
	// Margin is kept from the API server's timeout to write the answer.
	// Default: 250ms.
	Margin time.Duration
	Logger *slog.Logger
}

// Serve runs the webhook and health servers until ctx ends, then shuts both
// down gracefully. The webhook server is controller-runtime's: it decodes
// AdmissionReview v1, limits bodies to 7 MiB (413 beyond), recovers from
// panics, and reloads the certificate when the files change.
func Serve(ctx context.Context, opts ServerOptions) error {
	if opts.Margin <= 0 {
		opts.Margin = 250 * time.Millisecond
	}
	host, portStr, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", opts.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", opts.Addr, err)
	}
	clientAuth, err := clientAuthTLS(opts.ClientCA, opts.ClientCN)
	if err != nil {
		return err
	}
	srv := ctrlwebhook.NewServer(ctrlwebhook.Options{
		Host:     host,
		Port:     port,
		CertDir:  opts.CertDir,
		CertName: "tls.crt",
		KeyName:  "tls.key",
		TLSOpts:  []func(*tls.Config){restrictTLS, clientAuth},
	})
	for mode, h := range opts.Handlers {
		path, ok := Paths[mode]
		if !ok {
			return fmt.Errorf("mode %q has no webhook path", mode)
		}
		srv.Register(path, WithDeadline(&admission.Webhook{Handler: h}, opts.Margin))
	}
	if opts.Pinner != nil {
		srv.Register(PinPath, WithDeadline(&admission.Webhook{Handler: opts.Pinner}, opts.Margin))
	}
	started := srv.StartedChecker()
	checks := map[string]func() (string, error){"webhook": func() (string, error) { return "", started(nil) }}
	for name, c := range opts.Checks {
		checks[name] = c
	}

	health := &http.Server{
		Addr:              opts.HealthAddr,
		Handler:           healthMux(checks, opts.Gatherer),
		ReadHeaderTimeout: 5 * time.Second,
		// Probes and scrapes send no body and come back every few seconds:
		// nothing needs a connection held longer.
		ReadTimeout:    10 * time.Second,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 64 << 10,
	}
	ln, err := net.Listen("tcp", opts.HealthAddr)
	if err != nil {
		return fmt.Errorf("--health-addr: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Start(gctx) })
	g.Go(func() error {
		if err := health.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(gctx), 5*time.Second)
		defer cancel()
		return health.Shutdown(shutdown)
	})
	return g.Wait()
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
// and HTTP/1.1 only. controller-runtime offers h2 by default; its streams
// multiply handlers past any per-connection bound, and it carries the rapid
// reset class of attacks (CVE-2023-44487). The API server speaks HTTP/1.1 to
// webhooks as readily.
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
