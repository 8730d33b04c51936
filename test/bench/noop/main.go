// Command noop is the floor strata's webhook is measured against: the same
// server code as `strata serve` (webhook.Serve: controller-runtime's webhook
// server, TLS, paths, webhook.Endpoint's reading of the review, per-request
// deadline), whose handler allows every request once the endpoint has read
// it. What strata costs beyond this is strata's own work.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
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
	pinDigest := fs.String("pin-digest", "sha256:"+strings.Repeat("0", 64), "the digest "+webhook.PinPath+" writes after every image that names none")
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
	err := webhook.Serve(ctx, webhook.ServerOptions{Addr: *addr, HealthAddr: *healthAddr, CertDir: *certDir, Handlers: handlers,
		Pinner: pin{digest: *pinDigest}, Registerer: reg, Gatherer: reg})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// allow reads nothing beyond what webhook.Endpoint reads, and allows.
type allow struct{}

func (allow) Handle(context.Context, admission.Request) admission.Response {
	return admission.Allowed("")
}

// pin is the floor of a pinning webhook: a JSON patch that writes one
// digest after every container and init container image that names none,
// with nothing resolved. Beside strata's pin it shows what the API server
// pays for any pin (the call, the patch applied, the object decoded again)
// and what strata's pin adds to it.
type pin struct{ digest string }

type podImages struct {
	Spec struct {
		Containers     []struct{ Image string } `json:"containers"`
		InitContainers []struct{ Image string } `json:"initContainers"`
	} `json:"spec"`
}

type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

func (p pin) Handle(_ context.Context, req admission.Request) admission.Response {
	var pod podImages
	if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
		return admission.Allowed("")
	}
	var ops []patchOp
	for list, cs := range map[string][]struct{ Image string }{"containers": pod.Spec.Containers, "initContainers": pod.Spec.InitContainers} {
		for i, c := range cs {
			if !strings.Contains(c.Image, "@") {
				ops = append(ops, patchOp{Op: "replace", Path: fmt.Sprintf("/spec/%s/%d/image", list, i), Value: c.Image + "@" + p.digest})
			}
		}
	}
	resp := admission.Allowed("")
	if len(ops) == 0 {
		return resp
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return resp
	}
	patchType := admissionv1.PatchTypeJSONPatch
	resp.Patch, resp.PatchType = patch, &patchType
	return resp
}
