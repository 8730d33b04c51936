// Command noop is the floor strata's webhook is measured against: the same
// controller-runtime webhook server, with the same TLS setup, paths and
// per-request deadline as `strata serve`, whose handler allows every request
// once controller-runtime has decoded it. What strata costs beyond this is
// strata's own work.
//
// It imports nothing of strata, so that its memory is the server's alone.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/sync/errgroup"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/test/bench/internal/devcert"
)

// paths are strata's mode paths (webhook.Paths).
var paths = []string{"/validate/enforce", "/validate/warn", "/validate/audit"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "noop: %v\n", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("noop", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9443", "the TLS webhook listener")
	healthAddr := fs.String("health-addr", "127.0.0.1:9080", "plain HTTP listener for /readyz")
	certDir := fs.String("cert-dir", "", "directory holding tls.crt and tls.key (default: a self-signed certificate in a temporary directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctrllog.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if *certDir == "" {
		dir, err := os.MkdirTemp("", "strata-noop-cert-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if err := devcert.Write(dir); err != nil {
			return err
		}
		*certDir = dir
	}
	host, portStr, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	// As webhook.Serve configures it.
	srv := ctrlwebhook.NewServer(ctrlwebhook.Options{
		Host:     host,
		Port:     port,
		CertDir:  *certDir,
		CertName: "tls.crt",
		KeyName:  "tls.key",
		TLSOpts:  []func(*tls.Config){func(c *tls.Config) { c.MinVersion = tls.VersionTLS12 }},
	})
	for _, p := range paths {
		srv.Register(p, withDeadline(&admission.Webhook{Handler: allow{}}, 250*time.Millisecond))
	}
	started := srv.StartedChecker()
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := started(r); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	health := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", *healthAddr)
	if err != nil {
		return fmt.Errorf("-health-addr: %w", err)
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
		return health.Close()
	})
	return g.Wait()
}

// allow is the floor's admission.Handler.
type allow struct{}

func (allow) Handle(context.Context, admission.Request) admission.Response {
	return admission.Allowed("")
}

// withDeadline is webhook.WithDeadline: the API server's ?timeout= less a
// margin becomes the request's deadline.
func withDeadline(next http.Handler, margin time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := 10 * time.Second
		if t, err := time.ParseDuration(r.URL.Query().Get("timeout")); err == nil && t > 0 {
			limit = t
		}
		limit -= margin
		if limit <= 0 {
			limit = margin
		}
		ctx, cancel := context.WithTimeout(r.Context(), limit)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
