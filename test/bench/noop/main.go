// Command noop is the floor strata's webhook is measured against: the same
// server code as `strata serve` (webhook.Serve: controller-runtime's webhook
// server, TLS, paths, per-request deadline), whose handler allows every
// request once controller-runtime has decoded it. What strata costs beyond
// this is strata's own work.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/devcert"
	"github.com/strata-project/strata/webhook/policy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "noop: %v\n", err)
		os.Exit(2)
	}
}

// run serves webhook.Serve — strata's own server code, TLS, deadlines and
// health listener — with a handler that allows everything: the floor
// strata's cost is measured against.
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
		if err := devcert.Write(dir, time.Now()); err != nil {
			return err
		}
		*certDir = dir
	}
	handlers := map[policy.Action]admission.Handler{}
	for mode := range webhook.Paths {
		handlers[mode] = allow{}
	}
	// The same connection and answer metrics as strata's, which
	// `make bench-apiserver` compares.
	reg := prometheus.NewRegistry()
	err := webhook.Serve(ctx, webhook.ServerOptions{Addr: *addr, HealthAddr: *healthAddr, CertDir: *certDir, Handlers: handlers, Registerer: reg, Gatherer: reg})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// allow decodes nothing beyond what controller-runtime decodes, and allows.
type allow struct{}

func (allow) Handle(context.Context, admission.Request) admission.Response {
	return admission.Allowed("")
}
