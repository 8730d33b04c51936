package webhook

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/internal/wirecost"
)

// apiServerClient is an HTTP client made as the API server makes its
// webhook client (k8s.io/apiserver's webhook ClientManager): client-go's
// transport (keep-alive, at most 25 idle connections per host, no TLS
// session cache), over HTTP/1.1, which the API server asks for whenever the
// webhook is a Service or a URL off loopback.
func apiServerClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := rest.TransportFor(&rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: ca, NextProtos: []string{"http/1.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: rt}
}

// readCallCost is what the admissions served so far cost on the wire,
// read from Serve's metrics.
func readCallCost(t *testing.T, reg prometheus.Gatherer) wirecost.Cost {
	t.Helper()
	c, err := wirecost.Gather(reg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// What an admission costs the API server beyond strata's own work: a new
// connection and a full TLS handshake are far dearer than a request on a
// connection kept alive. The API server's client keeps its connections, so
// once its pool is full, 1,000 admissions from 16 at a time open none (anything strata
// did to end connections early, such as answering with "Connection: close"
// or an idle timeout shorter than the client's, would show here), and
// strata's answers carry only what the API server reads.
//
// Not parallel: client-go keeps its transports, and their connections, in a
// process-wide cache; they are closed before the parallel tests that check
// for leaked goroutines start.
func TestAdmissionsReuseTheAPIServersConnections(t *testing.T) {
	reg := prometheus.NewRegistry()
	p := newPipeline(t)
	certDir := t.TempDir()
	writeCert(t, certDir)
	srv := startServe(t, ServerOptions{CertDir: certDir, Registerer: reg, Gatherer: reg,
		Handlers: asAdmissionHandlers(handlers(p.Checker, nil, nil)), Pinner: p.Pinner(nil)})
	client := apiServerClient(t, filepath.Join(certDir, "tls.crt"))
	t.Cleanup(client.CloseIdleConnections)
	base := "https://" + srv.addr

	// Each answer is one kind the API server receives; its body must be the
	// decision asked for, so that the sizes below are of the right answers.
	answers := []struct {
		path, request, want string
	}{
		{"/validate/enforce", "pod-compliant-enforce.request.json", `"allowed":true`},
		{"/validate/enforce", "pod-enforce.request.json", `"allowed":false`},
		{"/validate/warn", "pod-warn.request.json", `"warnings":`},
		{"/mutate/pin", "pin/tag.request.json", `"patch":`},
	}
	sizes := map[string]int{}
	for _, a := range answers {
		body, err := os.ReadFile(filepath.Join("testdata", a.request))
		if err != nil {
			t.Fatal(err)
		}
		got := send(t, client, base+a.path+"?timeout=10s", body)
		if !bytes.Contains(got, []byte(a.want)) {
			t.Fatalf("POST %s %s = %s, want an answer with %s", a.path, a.request, got, a.want)
		}
		sizes[a.request] = len(got)
	}

	allow, err := os.ReadFile(filepath.Join("testdata", "pod-compliant-enforce.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	const admissions, inFlight = 1000, 16
	load := func(admissions int64) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range inFlight {
			wg.Go(func() {
				for next.Add(1) <= admissions {
					send(t, client, base+"/validate/enforce?timeout=10s", allow)
				}
			})
		}
		wg.Wait()
	}
	// The client's pool fills first: Go's transport dials for a request
	// that finds no idle connection and keeps the dial even when another
	// connection frees up first, so filling it may open more than 16.
	load(10 * inFlight)
	before := readCallCost(t, reg)
	load(admissions)
	after := readCallCost(t, reg)

	during := after.Since(before)
	opened, full := during.Accepted, during.Full
	t.Logf("filling the pool: %.0f connections; then per %d admissions, %d at a time: %.0f connections accepted, %.0f full TLS handshakes, %.0f resumed; handshakes by protocol %v",
		before.Accepted, admissions, inFlight, opened, full, during.Resumed, after.Protocols)
	t.Logf("answer bytes: allow %d, deny %d, warn %d, pin patch %d",
		sizes[answers[0].request], sizes[answers[1].request], sizes[answers[2].request], sizes[answers[3].request])
	if opened != 0 || full != 0 {
		t.Errorf("%d admissions, %d at a time, on a full pool opened %.0f connections (%.0f full handshakes), want none: connections are not kept alive", admissions, inFlight, opened, full)
	}
	if after.Protocols["h2"] != 0 || after.Protocols["http/1.1"] == 0 {
		t.Errorf("handshakes by protocol = %v, want http/1.1 only (the webhook port does not speak HTTP/2)", after.Protocols)
	}
	// The metric and the bodies the client read must agree, or the bench's
	// bytes per admission would be wrong.
	if got, want := after.MeanAnswer("/validate/enforce"), float64(sizes[answers[0].request]); got < want-1 || got > want+1 {
		t.Errorf("strata_webhook_response_size_bytes mean for /validate/enforce = %.1f, want %v, the size of the allow", got, want)
	}
	// The API server bench reads the same counts from the health port's
	// /metrics page: it must tally what the registry holds.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+srv.healthAddr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	page, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer page.Body.Close()
	if scraped, err := wirecost.Parse(page.Body); err != nil || !reflect.DeepEqual(scraped, after) {
		t.Errorf("wirecost.Parse(/metrics) = %+v, %v; want %+v, what the registry holds", scraped, err, after)
	}
	// docs/serving.md states the sizes of these answers: a changed answer
	// changes what each admission costs on the wire.
	if want := fmt.Sprintf("%s admissions from %d at a time on a full pool open no connection, and an allow is %d bytes, the test's one-violation deny %d, its warning %d, its one-image pin %d",
		testutil.Thousands(admissions), inFlight, sizes[answers[0].request], sizes[answers[1].request], sizes[answers[2].request], sizes[answers[3].request]); !strings.Contains(testutil.DocProse(t, "../docs/serving.md"), want) {
		t.Errorf("docs/serving.md does not say %q, what this test measured", want)
	}
	// An allow is the uid, the verdict and controller-runtime's status:
	// nothing of the object is sent back.
	if n := sizes[answers[0].request]; n > 192 {
		t.Errorf("an allow is %d bytes, want at most 192: nothing but the uid, the verdict and the status", n)
	}
}

// send posts an AdmissionReview as the API server does and returns the
// answer's body.
func send(t *testing.T, c *http.Client, url string, body []byte) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return nil
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Error(err)
		return nil
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Error(fmt.Errorf("POST %s: %d %s: %v", url, resp.StatusCode, got, err))
	}
	return got
}
