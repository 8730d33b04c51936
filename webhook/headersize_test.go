package webhook

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook/policy"
)

// docs/serving.md: both listeners take request headers of up to 64 KiB.
// net/http reads 4 KiB past the limit before refusing, so headers of 60 KiB
// are served and headers of 72 KiB are a 431 on each listener.
func TestRequestHeadersOfMoreThan64KiBAreRefusedOnBothListeners(t *testing.T) {
	t.Parallel()
	srv, pool, p := serveDemo(t, ServerOptions{})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(client.CloseIdleConnections)
	review := string(reviewOf(t, "header-size-uid", "Pod", "CREATE", podOf("web", p.Demo.Ref("shop/web:1.0")), nil))
	for _, tc := range []struct {
		listener, method, url string
	}{
		{"webhook", http.MethodPost, "https://" + srv.addr + Paths[policy.Enforce] + "?timeout=5s"},
		{"health", http.MethodGet, "http://" + srv.healthAddr + "/healthz"},
	} {
		for _, size := range []struct {
			kib  int
			want int
		}{{60, http.StatusOK}, {72, http.StatusRequestHeaderFieldsTooLarge}} {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, tc.url, strings.NewReader(review))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Padding", strings.Repeat("x", size.kib<<10))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s with %d KiB of headers: %v", tc.listener, size.kib, err)
			}
			resp.Body.Close()
			if resp.StatusCode != size.want {
				t.Errorf("%s with %d KiB of headers = %s, want %d", tc.listener, size.kib, resp.Status, size.want)
			}
		}
	}
}
