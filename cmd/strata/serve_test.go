package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// goodPodReview is the whole answer to examples/admission/good-pod.json on
// /validate/enforce: its uid, allowed, and nothing else.
const goodPodReview = `{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1",
	"response": {"uid": "0b7f1a2e-0001-4000-8000-000000000001", "allowed": true, "status": {"metadata": {}, "code": 200}}}`

// sameJSON reports whether got and want hold the same JSON value.
func sameJSON(t *testing.T, got, want []byte) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("the wanted JSON %s: %v", want, err)
	}
	return json.Unmarshal(got, &g) == nil && reflect.DeepEqual(g, w)
}

// TestServeDemo runs what `make run` runs, `strata serve --dev --demo`, and
// posts the example AdmissionReviews to it as the README's curl line does.
func TestServeDemo(t *testing.T) {
	s := startServe(t, "--dev", "--demo")
	addr := s.addr
	if _, readyz := s.get(t, "/readyz"); !strings.Contains(readyz, "[+] catalog ok") || !strings.Contains(readyz, "[+] policies ok") {
		t.Fatalf("/readyz = %q, want the catalog and policies ready; stderr:\n%s", readyz, s.stderr.String())
	}
	if !strings.Contains(s.stderr.String(), "curl -sk") {
		t.Errorf("strata serve --demo did not print the curl line; stderr:\n%s", s.stderr.String())
	}

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, // --dev's self-signed certificate
	}}
	for _, tc := range []struct {
		file, path string
		allowed    bool
		want       string
		// whole, when set, is the entire answer: for the compliant pod,
		// no warning, message or annotation may ride along with allowed.
		whole string
	}{
		{"good-pod.json", "/validate/enforce", true, "", goodPodReview},
		{"root-pod.json", "/validate/enforce", false, "[run-as-root]", ""},
		{"root-pod.json", "/validate/warn", true, "[run-as-root]", ""},
		{"deep-pod.json", "/validate/enforce", false, "[lineage-depth]", ""},
		{"unknown-base-pod.json", "/validate/enforce", false, "[approved-base]", ""},
		{"stale-base-pod.json", "/validate/enforce", true, "[base-freshness]", ""},
		{"root-pod.json", "/validate/audit", true, "", ""},
	} {
		body, err := os.ReadFile("../../examples/admission/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Post("https://"+addr+tc.path+"?timeout=10s", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("POST %s to %s: %v", tc.file, tc.path, err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("POST %s to %s: %v", tc.file, tc.path, err)
		}
		if tc.whole != "" && !sameJSON(t, raw, []byte(tc.whole)) {
			t.Errorf("POST %s to %s = %s, want exactly %s", tc.file, tc.path, raw, tc.whole)
		}
		var review struct {
			Response struct {
				Allowed bool     `json:"allowed"`
				Warn    []string `json:"warnings"`
				Status  struct {
					Message string `json:"message"`
				} `json:"status"`
				AuditAnnotations map[string]string `json:"auditAnnotations"`
			} `json:"response"`
		}
		if err := json.Unmarshal(raw, &review); err != nil {
			t.Fatalf("POST %s to %s: %v", tc.file, tc.path, err)
		}
		r := review.Response
		said := r.Status.Message + strings.Join(r.Warn, "\n")
		if r.Allowed != tc.allowed || !strings.Contains(said, tc.want) {
			t.Errorf("POST %s to %s = allowed %v, %q; want allowed %v mentioning %q", tc.file, tc.path, r.Allowed, said, tc.allowed, tc.want)
		}
		if tc.path == "/validate/audit" && (said != "" || !strings.Contains(r.AuditAnnotations["violations"], "run-as-root")) {
			t.Errorf("POST %s to audit = %q and annotations %v; want silence, and the violation in auditAnnotations", tc.file, said, r.AuditAnnotations)
		}
	}

	_, metrics := s.get(t, "/metrics")
	for _, want := range []string{
		`strata_violations_total{action="enforce",policy="run-as-root"} 1`,
		`strata_violations_total{action="audit",policy="run-as-root"} 1`,
		`strata_decisions_total{decision="denied",mode="enforce"} 3`,
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if log := s.stdout.Await(`"decision":"denied"`, 1); !strings.Contains(log, `"msg":"admission decision"`) || !strings.Contains(log, `"decision":"denied"`) {
		t.Errorf("the decision log lacks decision lines:\n%s", log)
	}
}
