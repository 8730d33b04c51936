package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/devcert"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/policy"
)

// The catalog is retried this soon after an image failed to load, rather
// than a whole refresh interval later.
const catalogRetry = 30 * time.Second

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "strata.yaml to read")
	addr := fs.String("addr", ":8443", "the TLS webhook listener (with --dev: "+devAddr+")")
	healthAddr := fs.String("health-addr", ":8080", "plain HTTP listener for /healthz, /readyz and /metrics (with --dev: "+devHealthAddr+")")
	certDir := fs.String("cert-dir", "", "directory holding tls.crt and tls.key (reloaded when they change)")
	clientCA := fs.String("client-ca", "", "PEM file of the CA that signs the API server's webhook client certificate: when set, the webhook listener answers only callers presenting a certificate it signed (mutual TLS)")
	clientCN := fs.String("client-cn", "", "with --client-ca, the only client certificate common name accepted (e.g. kube-apiserver)")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig for reading pods' pull secrets (default: in-cluster, when running in a pod)")
	readSecrets := fs.Bool("pull-secrets", true, "read pods' imagePullSecrets through the Kubernetes API (needs get on secrets and serviceaccounts)")
	maxConns := fs.Int("max-connections", webhook.DefaultWebhookLimits().MaxConns, "connections the webhook listener keeps open at once; beyond, a new one displaces the longest waiting without a request in progress, or is closed when every one is serving a request")
	healthMaxConns := fs.Int("health-max-connections", webhook.DefaultHealthLimits().MaxConns, "connections the health listener keeps open at once, as --max-connections")
	dev := fs.Bool("dev", false, "generate a self-signed certificate for localhost at start (development only)")
	useDemo := fs.Bool("demo", false, "serve the built-in demo: an in-process registry of sample images, its catalog and approved base")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: strata serve [flags]\n\nThe webhook paths are /validate/enforce, /validate/warn and /validate/audit.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
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
	if err := cfg.validate(); err != nil {
		return err
	}

	logger := slog.New(slog.NewJSONHandler(stdout, nil))
	ctrllog.SetLogger(logr.FromSlogHandler(logger.Handler()))

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
			return err
		}
	}

	var demoReg interface{ Close() error }
	if *useDemo {
		reg, err := withDemo(ctx, &cfg)
		if err != nil {
			return err
		}
		demoReg = reg
		logger.Info(demoNote(reg))
	}
	var creds webhook.Credentials
	if *readSecrets {
		if creds, err = pullSecrets(*kubeconfig, logger); err != nil {
			return err
		}
	}
	p, err := buildPipeline(ctx, cfg, creds, logger)
	if err != nil {
		return err
	}
	defer p.close()
	if demoReg != nil {
		defer demoReg.Close()
	}

	// strata's own registry, with the Go runtime and process metrics,
	// exposed beside controller-runtime's webhook request metrics.
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := webhook.NewMetrics(registry)
	if err != nil {
		return err
	}
	registry.MustRegister(webhook.NewPolicyCollector(p.engine.Policies))
	for _, m := range p.engine.Policies() {
		if m.Inactive != "" {
			logger.Warn("policy inactive: it reports nothing", "policy", m.ID, "reason", m.Inactive)
		}
	}
	handlers := map[policy.Action]admission.Handler{}
	for _, mode := range []policy.Action{policy.Enforce, policy.Warn, policy.Audit} {
		handlers[mode] = webhook.NewHandler(webhook.HandlerOptions{
			Checker:          p.checker,
			Mode:             mode,
			ExemptNamespaces: cfg.Exempt.Namespaces,
			Metrics:          metrics,
			Logger:           logger,
		})
	}

	go p.catalog.Run(ctx, cfg.Catalog.Refresh.Duration, catalogRetry)
	if len(cfg.Policies.Paths) > 0 {
		go p.engine.Watch(ctx, 2*time.Second)
	}
	logger.Info("strata is serving", "addr", *addr, "healthAddr", *healthAddr, "paths", []string{"/validate/enforce", "/validate/warn", "/validate/audit"})
	if *useDemo {
		fmt.Fprintf(stderr, "\nstrata serves the demo on https://localhost%s. Try, from the repository root:\n\n"+
			"  curl -sk -H 'Content-Type: application/json' --data @examples/admission/root-pod.json https://localhost%s/validate/enforce\n\n",
			portOf(*addr), portOf(*addr))
	}
	err = webhook.Serve(ctx, webhook.ServerOptions{
		Addr:       *addr,
		HealthAddr: *healthAddr,
		CertDir:    *certDir,
		ClientCA:   *clientCA,
		ClientCN:   *clientCN,
		Webhook:    webhook.ConnLimits{MaxConns: *maxConns},
		Health:     webhook.ConnLimits{MaxConns: *healthMaxConns},
		Handlers:   handlers,
		Checks: map[string]func() (string, error){
			"catalog": func() (string, error) {
				if !p.catalog.Ready() {
					return "", errors.New("the catalog has not loaded yet")
				}
				return fmt.Sprintf("%d images", p.catalog.Len()), nil
			},
			"policies": func() (string, error) { return policyStatus(p.engine.Status(), p.engine.Policies()) },
		},
		Gatherer:   prometheus.Gatherers{registry, crmetrics.Registry},
		Registerer: registry,
		Logger:     logger,
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// The listeners of --dev: a self-signed certificate and the demo are for
// the developer's own machine, not for whoever shares its network.
const (
	devAddr       = "127.0.0.1:8443"
	devHealthAddr = "127.0.0.1:8080"
)

// devListeners binds the listeners whose flags were not given to loopback.
func devListeners(fs *flag.FlagSet, addr, healthAddr *string) {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if !given["addr"] {
		*addr = devAddr
	}
	if !given["health-addr"] {
		*healthAddr = devHealthAddr
	}
}

// pullSecrets reads pods' pull secrets through the API server when strata
// can reach one: --kubeconfig, or the in-cluster service account. Without
// either, every image is read with strata's own credentials.
func pullSecrets(kubeconfig string, logger *slog.Logger) (webhook.Credentials, error) {
	var cfg *rest.Config
	var err error
	switch {
	case kubeconfig != "":
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	case os.Getenv("KUBERNETES_SERVICE_HOST") != "":
		cfg, err = rest.InClusterConfig()
	default:
		logger.Info("no Kubernetes API configured: pods' imagePullSecrets are not read; strata's own registry credentials are used")
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return images.NewPullSecrets(client, images.PullSecretOptions{}), nil
}

// policyStatus: after a failed reload the last good policies keep serving,
// so strata stays ready, but says so; so is a policy that is on but can
// report nothing (approved-base without approvedBases).
func policyStatus(st policy.Status, policies []policy.Meta) (string, error) {
	if st.Generation == 0 {
		return "", errors.New("no policy set has compiled")
	}
	detail := fmt.Sprintf("generation %d", st.Generation)
	if st.LastError != nil {
		detail += fmt.Sprintf(" serving; the last reload failed: %v", st.LastError)
	}
	for _, m := range policies {
		if m.Inactive != "" {
			detail += fmt.Sprintf("; inactive: %s (%s)", m.ID, m.Inactive)
		}
	}
	return detail, nil
}

func portOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[i:]
		}
	}
	return ""
}
