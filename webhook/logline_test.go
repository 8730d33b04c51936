package webhook

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The attack: one 40-container pod against a registry whose error bodies
// are 60 KB each wrote a single 2.4 MB decision log line. Whatever the
// violations say, the line stays within maxDecisionLogLine and says how
// much it left out.
func TestFortyContainersWithHugeRegistryErrorsWriteOneBoundedLogLine(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		// A registry error whose message is 60 KB, distinct per path.
		msg := r.URL.Path + strings.Repeat(" padding", 60<<10/8)
		_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{"code": "UNKNOWN", "message": msg}}})
	}))
	t.Cleanup(registry.Close)
	var logs syncBuffer
	h := handlers(p.checkerVia(t, registry.Listener.Addr().String()), nil, slog.New(slog.NewJSONHandler(&logs, nil)))
	pod := podOf("many", "strata-demo.local/shop/app0:1")
	var containers []any
	for i := range 40 {
		containers = append(containers, map[string]any{"name": fmt.Sprintf("c%d", i), "image": fmt.Sprintf("strata-demo.local/shop/app%d:1", i)})
	}
	pod["spec"] = map[string]any{"containers": containers}
	r := admit(t, serveHandler(t, h["enforce"]).URL+"?timeout=10s", reviewOf(t, "huge-errors", "Pod", "CREATE", pod, nil))
	if r.Allowed {
		t.Fatalf("a pod whose images cannot be resolved was allowed in enforce")
	}
	lines := strings.Split(strings.TrimSuffix(logs.String(), "\n"), "\n")
	var decision string
	for _, l := range lines {
		if strings.Contains(l, `"msg":"admission decision"`) {
			decision = l
		}
	}
	if decision == "" {
		t.Fatalf("no decision log line in:\n%.2000s", logs.String())
	}
	if len(decision) > maxDecisionLogLine {
		t.Errorf("the decision log line is %d bytes, want at most %d", len(decision), maxDecisionLogLine)
	}
	var rec struct {
		Policies    []string `json:"policies"`
		Violations  []any    `json:"violations"`
		Omitted     int      `json:"violationsOmitted"`
		CutBytes    int      `json:"bytesCut"`
		MessageSeen string   `json:"message"`
	}
	if err := json.Unmarshal([]byte(decision), &rec); err != nil {
		t.Fatalf("the decision log line is not JSON: %v", err)
	}
	if len(rec.Policies) != 1 || rec.Policies[0] != "image-resolution" {
		t.Errorf("policies = %q, want [image-resolution]", rec.Policies)
	}
	if rec.CutBytes == 0 || len(rec.Violations)+rec.Omitted != 40 {
		t.Errorf("the line records %d violations, %d omitted, %d bytes cut; want the 40 accounted for and the cut counted", len(rec.Violations), rec.Omitted, rec.CutBytes)
	}
}

// Escapes cost up to six bytes each in a JSON line: a value of control
// characters is cut by what it takes once escaped, on a character boundary.
func TestLogBudgetCountsEscapedBytes(t *testing.T) {
	t.Parallel()
	var lb logBudget
	got := lb.cutTo(strings.Repeat("\x1b", 1000)+"é", logFieldBytes)
	if escapedLen(got) > logFieldBytes || !strings.HasSuffix(got, "...") || lb.cut == 0 {
		t.Errorf("cutTo(1000 escapes) = %d escaped bytes, cut %d; want at most %d and the cut counted", escapedLen(got), lb.cut, logFieldBytes)
	}
	if got := lb.cutTo(strings.Repeat("é", 200), 11); got != "éééé..." {
		t.Errorf("cutTo(é×200, 11) = %q, want a cut on a character boundary", got)
	}
}
