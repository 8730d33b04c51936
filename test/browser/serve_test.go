//go:build browser

package browser

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"github.com/strata-project/strata/test/cluster"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/strata-project/strata/webhook/graph"
)

// strataBin is $STRATA_BIN (make browser builds it), or strata built here.
func strataBin(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("STRATA_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("STRATA_BIN: %v (run make build, or unset it to build strata here)", err)
		}
		return bin
	}
	bin := filepath.Join(t.TempDir(), "strata")
	build := exec.Command("go", "build", "-o", bin, "./cmd/strata")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/strata: %v\n%s", err, out)
	}
	return bin
}

// serveGraph starts `strata serve --dev --demo --graph` and returns its
// webhook and health addresses once it is ready; it is stopped when the
// test ends.
func serveGraph(t *testing.T) (addr, healthAddr string) {
	t.Helper()
	addr, healthAddr = cluster.MustFreeAddr(t), cluster.MustFreeAddr(t)
	var logs bytes.Buffer
	cmd := exec.Command(strataBin(t), "serve", "--dev", "--demo", "--graph", "--addr", addr, "--health-addr", healthAddr)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting strata serve: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("strata serve's output:\n%s", logs.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get("http://" + healthAddr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr, healthAddr
			}
		}
	}
	t.Fatalf("strata serve --graph was not ready within 30s")
	return "", ""
}

// reviewExample posts an example AdmissionReview to /validate/enforce.
func reviewExample(t *testing.T, addr, file string) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("../../examples/admission", file))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, // --dev's self-signed certificate
	}}
	resp, err := client.Post("https://"+addr+"/validate/enforce?timeout=10s", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", file, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func TestServeGraphPageOverHTTPDrawsWhatStrataReviewed(t *testing.T) {
	addr, healthAddr := serveGraph(t)
	for _, f := range []string{"good-pod.json", "stale-base-pod.json", "deep-pod.json", "root-pod.json", "unknown-base-pod.json"} {
		reviewExample(t, addr, f)
	}
	resp, err := http.Get("http://" + healthAddr + "/graph.json")
	if err != nil {
		t.Fatal(err)
	}
	var g graph.Graph
	err = json.NewDecoder(resp.Body).Decode(&g)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("GET /graph.json: %v", err)
	}
	if !slices.ContainsFunc(g.Nodes, func(n graph.Node) bool { return n.ID == "workload:shop/Pod/billing" }) {
		t.Fatalf("/graph.json lacks the billing pod reviewed: %+v", g.Nodes)
	}

	b := newBrowser(t)
	url := "http://" + healthAddr + "/graph"
	pageMs, took := b.open(t, url)
	t.Logf("strata serve --graph: %d nodes, %d edges; layout %s ms in the page, %v from navigation", len(g.Nodes), len(g.Edges), pageMs, took)
	nodes, edges := b.drawn(t)
	wantNodes, wantEdges := want(&g)
	if !slices.Equal(nodes, wantNodes) || !slices.Equal(edges, wantEdges) {
		t.Errorf("drawn nodes %q and edges %q,\nwant %q and %q", nodes, edges, wantNodes, wantEdges)
	}

	// The stale debian digest: a click highlights billing, built on it.
	var stale string
	for _, n := range g.Nodes {
		if n.Kind == graph.KindBase && n.Stale && n.CurrentDigest != "" {
			stale = n.ID
		}
	}
	if stale == "" {
		t.Fatalf("no base of a moved tag in %+v", g.Nodes)
	}
	b.do(t, "clicking the stale base", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#nodes .node[data-id=%q]`, stale))))
	highlighted := eval[[]string](t, b, `Array.from(document.querySelectorAll('#nodes .node.hl')).map(e => e.dataset.id)`)
	if !slices.Contains(highlighted, "workload:shop/Pod/billing") || slices.Contains(highlighted, "workload:shop/Pod/web") {
		t.Errorf("highlighted after clicking %s = %q, want billing and not web (on the patched digest)", stale, highlighted)
	}
	b.screenshot(t, "serve-graph.png")
	onlyTheDocument(t, b, url)
}
