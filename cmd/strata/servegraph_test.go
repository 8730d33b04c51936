package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/webhook/graph"
)

// review posts an example AdmissionReview to a webhook path.
func review(t *testing.T, addr, path, file string) {
	t.Helper()
	body, err := os.ReadFile("../../examples/admission/" + file)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, // --dev's self-signed certificate
	}}
	resp, err := client.Post("https://"+addr+path+"?timeout=10s", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s to %s: %v", file, path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s to %s = %s", file, path, resp.Status)
	}
}

func get(t *testing.T, method, url string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp, body
}

// TestServeGraphDrawsTheReviewedWorkloads: with --graph, the health listener
// draws the pods strata reviewed and allowed, their images and the bases
// they are built on, including the old digest of the demo's moved debian
// tag, which the billing image is still built on. A denied pod is created
// nowhere: it is drawn once a review allows it.
func TestServeGraphDrawsTheReviewedWorkloads(t *testing.T) {
	s := startServe(t, "--dev", "--demo", "--graph")
	addr, healthAddr := s.addr, s.healthAddr
	for _, f := range []string{"good-pod.json", "stale-base-pod.json", "root-pod.json"} {
		review(t, addr, "/validate/enforce", f)
	}
	review(t, addr, "/validate/warn", "deep-pod.json")
	review(t, addr, "/validate/audit", "root-pod.json") // allowed this time: one node

	resp, body := get(t, http.MethodGet, "http://"+healthAddr+"/graph.json")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /graph.json = %s (%s), want 200 application/json: %s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	var g graph.Graph
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatalf("GET /graph.json: %v\n%s", err, body)
	}
	var workloads, images []string
	var staleBases int
	for _, n := range g.Nodes {
		switch n.Kind {
		case graph.KindWorkload:
			workloads = append(workloads, n.ID)
		case graph.KindImage:
			images = append(images, n.Label)
		case graph.KindBase:
			if n.Stale {
				staleBases++
			}
		}
	}
	slices.Sort(workloads)
	if want := []string{"workload:shop/Pod/admin", "workload:shop/Pod/billing", "workload:shop/Pod/report", "workload:shop/Pod/web"}; !slices.Equal(workloads, want) {
		t.Errorf("workload nodes = %q, want %q", workloads, want)
	}
	if len(images) != 4 {
		t.Errorf("image nodes = %q, want the four images reviewed", images)
	}
	if staleBases == 0 || !slices.ContainsFunc(g.Rebuild, func(u graph.Use) bool {
		return strings.Contains(u.Image, "shop/billing") && slices.Contains(u.Workloads, "shop/Pod/billing")
	}) {
		t.Errorf("want the billing pod on the stale debian digest in the rebuild list; stale bases %d, rebuild %+v", staleBases, g.Rebuild)
	}

	resp, body = get(t, http.MethodGet, "http://"+healthAddr+"/graph")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") || !bytes.Contains(body, []byte(`id="graph-data"`)) {
		t.Errorf("GET /graph = %s %v, want the page with its data and a policy refusing fetches", resp.Status, resp.Header)
	}
	if resp, _ := get(t, http.MethodPost, "http://"+healthAddr+"/graph"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /graph = %s, want 405: the graph is read-only", resp.Status)
	}
}

// Without --graph the health listener has no graph: nothing records what
// the reviews saw.
func TestServeWithoutGraphHasNoGraphRoute(t *testing.T) {
	s := startServe(t, "--dev", "--demo")
	addr, healthAddr := s.addr, s.healthAddr
	review(t, addr, "/validate/enforce", "good-pod.json")
	for _, path := range []string{"/graph", "/graph.json"} {
		if resp, _ := get(t, http.MethodGet, "http://"+healthAddr+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s without --graph = %s, want 404", path, resp.Status)
		}
	}
}

// strata graph --demo -o html is the page of exactly the graph -o json
// writes: its data element holds the same nodes, edges and rebuild list.
func TestGraphDemoHTMLIsThePageOfTheJSONGraph(t *testing.T) {
	t.Parallel()
	want := graphJSON(t, "--demo", "-o", "json")
	code, out, errOut := runStrata(t, "graph", "--demo", "-o", "html")
	if code != 0 || errOut != "" {
		t.Fatalf("strata graph --demo -o html = exit %d, stderr %q", code, errOut)
	}
	const open = `<script type="application/json" id="graph-data">`
	start := strings.Index(out, open)
	end := strings.Index(out[max(start, 0):], "</script>")
	if !strings.HasPrefix(out, "<!DOCTYPE html>") || start < 0 || end < 0 {
		t.Fatalf("strata graph --demo -o html wrote no page with a data element: %.200q", out)
	}
	var got graph.Graph
	if err := json.Unmarshal([]byte(out[start+len(open):start+end]), &got); err != nil {
		t.Fatalf("the page's data element: %v", err)
	}
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("the page's graph = %+v,\nwant -o json's %+v", got, *want)
	}
}
