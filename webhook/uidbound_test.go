package webhook

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-project/strata/webhook/policy"
)

// TestReviewWithAUIDPast128BytesIsAShort400: the answer echoes the review's
// uid, so a caller could make strata write back what it sent. A review
// whose uid is longer than 128 bytes is answered a short HTTP 400, whatever
// its size; a uid of 128 bytes is answered as usual (docs/serving.md).
func TestReviewWithAUIDPast128BytesIsAShort400(t *testing.T) {
	srv, pool := serveAudit(t, allowAll{}, ServerOptions{Registerer: prometheus.NewRegistry()})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(client.CloseIdleConnections)
	padded := podOf("a", "strata-demo.local/shop/web:1.0")
	padded["metadata"].(map[string]any)["annotations"] = map[string]string{"pad": strings.Repeat("x", 16<<10)}
	small := podOf("a", "strata-demo.local/shop/web:1.0")

	for _, tc := range []struct {
		name     string
		uid      string
		object   map[string]any
		wantCode int
	}{
		{"129-byte uid, padded review", strings.Repeat("u", 129), padded, http.StatusBadRequest},
		{"128-byte uid, padded review", strings.Repeat("u", 128), padded, http.StatusOK},
		{"129-byte uid, small review", strings.Repeat("u", 129), small, http.StatusBadRequest},
		{"128-byte uid, small review", strings.Repeat("u", 128), small, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := client.Post("https://"+srv.addr+Paths[policy.Audit], "application/json", bytes.NewReader(reviewOf(t, tc.uid, "Pod", "CREATE", tc.object, nil)))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("POST a review with a %d-byte uid = HTTP %d %q, want %d", len(tc.uid), resp.StatusCode, body, tc.wantCode)
			}
			if tc.wantCode == http.StatusBadRequest && (len(body) > 200 || !strings.Contains(string(body), "longer than 128 bytes")) {
				t.Errorf("the refusal is %d bytes %q, want a short answer naming the 128-byte bound", len(body), body)
			}
			if tc.wantCode == http.StatusOK && !strings.Contains(string(body), tc.uid) {
				t.Errorf("the answer %q does not echo the uid", body)
			}
		})
	}
}
