package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/devcert"
	"github.com/strata-project/strata/webhook/graph"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/notify"
)

// policyPollInterval is how often serve checks the files of policies.paths
// for a change: a ConfigMap update reaches a pod within a minute or so, and
// a poll costs a stat per file.
const policyPollInterval = 2 * time.Second

func newServeCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "run the admission webhook",
		Long:  "Runs the admission webhook. The webhook paths are /validate/enforce, /validate/warn and\n/validate/audit; /mutate/pin pins pods' images to the digests strata resolved.",
		Args:  cobra.NoArgs,
	}
	// serve's flags, all here.
	fs := cmd.Flags()
	configPath := fs.String("config", "", "strata.yaml to read")
	addr := fs.String("addr", ":8443", "the TLS webhook listener (with --dev: "+devAddr+")")
	healthAddr := fs.String("health-addr", ":8080", "plain HTTP listener for /healthz, /readyz and /metrics (with --dev: "+devHealthAddr+")")
	certDir := fs.String("cert-dir", "", "directory holding tls.crt and tls.key (reloaded when they change)")
	clientCA := fs.String("client-ca", "", "PEM file of the CA that signs the API server's webhook client certificate: when set, the webhook listener answers only callers presenting a certificate it signed (mutual TLS)")
	clientCN := fs.String("client-cn", "", "with --client-ca, the only client certificate common name accepted (e.g. kube-apiserver)")
	kube := newKubeFlags()
	kube.addConnection(fs)
	readSecrets := fs.Bool("pull-secrets", true, "read pods' imagePullSecrets through the Kubernetes API (needs get on secrets and serviceaccounts)")
	maxConns := fs.Int("max-connections", webhook.DefaultWebhookLimits().MaxConns, "connections the webhook listener keeps open at once; beyond, a new one displaces the longest waiting without a request in progress, or is closed when every one is serving a request")
	healthMaxConns := fs.Int("health-max-connections", webhook.DefaultHealthLimits().MaxConns, "connections the health listener keeps open at once, as --max-connections")
	dev := fs.Bool("dev", false, "generate a self-signed certificate for localhost at start (development only); never over one already in --cert-dir")
	useDemo := fs.Bool("demo", false, "serve the built-in demo: an in-process registry of sample images, its catalog and approved base")
	notifyURL := fs.String("notify", "", "POST one JSON event per moved catalog base (its old and new digest, the images and workloads strata has seen on the old one) to this URL, a CI system's webhook (docs/notifications.md); overrides notify.url in --config")
	serveGraph := fs.Bool("graph", false, "serve the graph of what strata has seen (the last 5,000 workloads it reviewed, their images and bases) on the health listener, read-only: /graph (a page) and /graph.json")

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		if *dev {
			devListeners(fs, addr, healthAddr)
		}
		if *maxConns < 1 || *healthMaxConns < 1 {
			return fmt.Errorf("--max-connections and --health-max-connections must be at least 1")
		}
		cfg, err := loadConfig(*configPath)
		if err != nil {
			return err
		}
		if err := cfg.Validate(); err != nil {
			return err
		}

		logger, logOut := serveLogger(stdout)
		defer logOut.Close()
		if m := applyMemorySettings(cfg.Cache.MaxBytes.Value()); m.limit > 0 {
			logger.Info("Go's soft memory limit", "bytes", m.limit, "from", m.from, "gogc", m.gogc, "gogcFrom", m.gogcFrom)
		}

		if *certDir == "" {
			if !*dev {
				return fmt.Errorf("give --cert-dir with tls.crt and tls.key, or --dev for a self-signed certificate")
			}
			dir, err := os.MkdirTemp("", "strata-dev-cert-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			*certDir = dir
		}
		if *dev {
			if err := devcert.Write(*certDir, time.Now()); err != nil {
				return devcertAdvice(*certDir, err)
			}
		}

		var creds webhook.Credentials
		if *readSecrets {
			if creds, err = pullSecrets(kube, cfg.PullSecretCacheBytes(), logger); err != nil {
				return err
			}
		}
		popts := webhook.PipelineOptions{Credentials: creds, Demo: *useDemo, Logger: logger}
		var healthRoutes map[string]http.Handler
		// What strata has seen: the graph draws it, notifications list the
		// images and workloads on a moved base from it.
		var seen *inventory.Recorder
		if *serveGraph || *notifyURL != "" || cfg.Notify.URL != "" {
			seen = inventory.NewRecorder(inventory.RecorderOptions{})
			popts.Recorder = seen
		}
		notifier, err := newNotifier(cfg.Notify, *notifyURL, seen, logger)
		if err != nil {
			return err
		}
		if notifier != nil {
			popts.CatalogMoved = notifier.Moved
		}
		if *serveGraph {
			drawn := func() *graph.Graph { return graph.FromInventory(seen.Inventory(), graph.Options{}) }
			healthRoutes = map[string]http.Handler{"/graph": graph.HTMLHandler(drawn), "/graph.json": graph.JSONHandler(drawn)}
		}
		p, err := webhook.NewPipeline(ctx, cfg, popts)
		if err != nil {
			return err
		}
		defer p.Close()
		if p.Demo != nil {
			logger.Info(demoNote(p.Demo))
		}

		// strata's own registry, with the Go runtime and process metrics,
		// exposed beside controller-runtime's webhook request metrics.
		registry := prometheus.NewRegistry()
		registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		metrics, err := webhook.NewMetrics(registry)
		if err != nil {
			return err
		}
		registry.MustRegister(webhook.NewPolicyCollector(p.Engine.Policies), webhook.NewCredentialsCollector(p.Resolver))
		for _, m := range p.Engine.Policies() {
			if m.Inactive != "" {
				logger.Warn("policy inactive: it reports nothing", "policy", m.ID, "reason", m.Inactive)
			}
		}
		configWarnings := logConfigWarnings(*configPath, p, logger)
		registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "strata_config_warnings",
			Help: "Warnings strata config validate would print for the configuration strata started with (policy files included)."}, func() float64 { return float64(configWarnings) }))
		if seen != nil {
			registry.MustRegister(notify.NewStaleCollector(seen, p.Catalog.Stale))
		}
		if notifier != nil {
			registry.MustRegister(notifier.Collectors()...)
			go notifier.Run(ctx)
		}
		go p.Catalog.Run(ctx, cfg.Catalog.Refresh.Duration, lineage.DefaultRetry)
		if len(cfg.Policies.Paths) > 0 {
			go p.Engine.Watch(ctx, policyPollInterval)
		}
		logger.Info("strata is serving", "addr", *addr, "healthAddr", *healthAddr, "paths", []string{"/validate/enforce", "/validate/warn", "/validate/audit", "/validate/enforce/pinned", "/validate/warn/pinned", "/validate/audit/pinned", webhook.PinPath})
		if *useDemo {
			_, port, _ := net.SplitHostPort(*addr)
			fmt.Fprintf(stderr, "\nstrata serves the demo on https://localhost:%s. Try, from the repository root:\n\n"+
				"  curl -sk -H 'Content-Type: application/json' --data @examples/admission/root-pod.json https://localhost:%s/validate/enforce\n\n",
				port, port)
			if *serveGraph {
				_, hport, _ := net.SplitHostPort(*healthAddr)
				fmt.Fprintf(stderr, "The graph of what it has reviewed: http://localhost:%s/graph\n\n", hport)
			}
		}
		checks := p.ReadinessChecks()
		// Warnings do not make strata unready; they are said here.
		checks["configuration"] = func() (string, error) {
			return fmt.Sprintf("%d warnings at start (logged; strata config validate names them)", configWarnings), nil
		}
		// The start's lines are in the log before strata answers anything.
		logOut.Flush()
		err = webhook.Serve(ctx, webhook.ServerOptions{
			Addr:           *addr,
			HealthAddr:     *healthAddr,
			CertDir:        *certDir,
			ClientCA:       *clientCA,
			ClientCN:       *clientCN,
			Webhook:        webhook.ConnLimits{MaxConns: *maxConns},
			Health:         webhook.ConnLimits{MaxConns: *healthMaxConns},
			Handlers:       p.Handlers(metrics, logger),
			Pinner:         p.Pinner(logger),
			PinnedHandlers: p.PinnedHandlers(metrics, logger),
			Checks:         checks,
			Gatherer:       prometheus.Gatherers{registry, crmetrics.Registry},
			Registerer:     registry,
			HealthRoutes:   healthRoutes,
			Logger:         logger,
		})
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	return cmd
}
